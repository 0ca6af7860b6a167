import { describe, expect, it } from 'vitest';
import { baselineTable, medians } from './baseline-table.js';
import type { Row } from './bench-row.js';

const row = (system: string, throughput: number, cpuPerOp: number, round: number): Row => ({
  workload: 'put',
  system,
  result: { ops: throughput * 10, errors: 0, errorSamples: {}, throughput, latencyMs: { p50: 1, p90: 2, p99: 3, max: 4 } },
  cpuPerOp,
  cpuSeconds: 1,
  peakRssMiB: 100,
  round,
});

describe('--rounds medians', () => {
  const rounds = [
    row('kvfleet (3 members)', 100, 50, 1),
    row('kvfleet@abc (3 members)', 90, 40, 1),
    row('kvfleet (3 members)', 300, 10, 2),
    row('kvfleet@abc (3 members)', 110, 60, 2),
    row('kvfleet (3 members)', 200, 30, 3),
    row('kvfleet@abc (3 members)', 100, 50, 3),
  ];

  it('takes the median throughput and, separately, the median CPU per op of each system', () => {
    const m = medians(rounds);
    const mine = m.find((r) => r.system === 'kvfleet (3 members)')!;
    expect(mine.result.throughput).toBe(200);
    expect(mine.cpuPerOp).toBe(30);
    expect(mine.rounds).toBe(3);
    expect(mine.round).toBeUndefined();
  });

  it('lists each round’s own ratio next to the medians’', () => {
    const table = baselineTable(medians(rounds), 'abc', rounds);
    const line = table.split('\n').find((l) => l.startsWith('| put |'))!;
    expect(line).toContain('| 200 | 100 | 2.000× | 1.11, 2.73, 2.00 |');
    expect(line).toContain('| 30 | 50 | 0.600× | 1.25, 0.17, 0.60 |');
  });
});
