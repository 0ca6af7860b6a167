import { describe, expect, it } from 'vitest';
import { checkSpacingMs } from '../src/upstream/cache-feed.js';

describe('linearizable revision check spacing', () => {
  it('never delays a lone reader and spaces checks more as batches grow, up to a cap', () => {
    expect(checkSpacingMs(0)).toBe(0);
    expect(checkSpacingMs(1)).toBe(0);
    expect(checkSpacingMs(10)).toBeCloseTo(1.5);
    expect(checkSpacingMs(50)).toBeCloseTo(7.5);
    expect(checkSpacingMs(100)).toBe(15);
    expect(checkSpacingMs(5_000)).toBe(15);
  });
});
