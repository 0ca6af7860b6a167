import { describe, expect, it } from 'vitest';
import { runSimulation } from './simulation.js';

describe('simulator determinism', () => {
  it('one seed gives one run: same stats and the same event trace', () => {
    let lines = 0;
    for (const seed of [7, 42, 1234]) {
      const a = runSimulation(seed, { trace: true, traceMessages: true });
      const b = runSimulation(seed, { trace: true, traceMessages: true });
      expect(b.stats).toEqual(a.stats);
      expect(b.ok).toBe(a.ok);
      expect(b.trace).toEqual(a.trace);
      lines += a.trace.length;
    }
    // Every delivered message is in the trace, so equal traces mean equal runs.
    expect(lines).toBeGreaterThan(10_000);
  });

  it('different seeds explore different runs', () => {
    const stats = [1, 2, 3, 4].map((seed) => JSON.stringify(runSimulation(seed).stats));
    expect(new Set(stats).size).toBe(4);
  });
});
