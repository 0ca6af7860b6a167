import { describe, expect, it } from 'vitest';
import { describeFailures, runBatch } from './batch.js';

export const SWARM_RUNS_IN_NPM_TEST = 2000;
export const SWARM_PARTS = 4;

/**
 * One part of the swarm runs in npm test. The runs are split over several test files only so
 * that test workers share them.
 */
export function swarmSuitePart(part: number): void {
  const count = SWARM_RUNS_IN_NPM_TEST / SWARM_PARTS;
  const first = (part - 1) * count + 1;
  describe('simulated clusters under random faults', () => {
    it(`seeds ${first}..${first + count - 1} keep every safety property and recover once healed`, async () => {
      const outcome = await runBatch(first, count);
      expect(describeFailures(outcome)).toBe('');
      expect(outcome.runs).toBe(count);
      // Thousands of ticks in every run.
      expect(outcome.minElapsedTicks).toBeGreaterThanOrEqual(1500);
    }, 600_000);
  });
}
