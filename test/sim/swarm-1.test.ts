import { describe, expect, it } from 'vitest';
import { describeFailures, runBatch } from './batch.js';

// Part 1 of 4 of the 2,000 swarm runs in npm test (split so that test workers share them).
describe('simulated clusters under random faults', () => {
  it('seeds 1..500 keep every safety property and recover once healed', () => {
    const outcome = runBatch(1, 500);
    expect(describeFailures(outcome)).toBe('');
    expect(outcome.runs).toBe(500);
    // Thousands of ticks per run, as the acceptance asks.
    expect(outcome.ticks / outcome.runs).toBeGreaterThan(2000);
  }, 600_000);
});
