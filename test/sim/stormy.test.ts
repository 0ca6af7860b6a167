import { describe, expect, it } from 'vitest';
import { describeFailures, runBatch } from './batch.js';

describe('simulated clusters under constant leader churn', () => {
  it('200 stormy runs (leader crashes, one-entry appends, partitions) keep every property', async () => {
    const outcome = await runBatch(1, 200, { profile: 'stormy' });
    expect(describeFailures(outcome)).toBe('');
  }, 600_000);
});
