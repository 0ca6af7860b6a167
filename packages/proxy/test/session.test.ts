import { describe, expect, it } from 'vitest';
import { SessionRevisionFloor } from '../src/session.js';

describe('SessionRevisionFloor', () => {
  it('starts at 0, so any cache may answer a new session', () => {
    const s = new SessionRevisionFloor();
    expect(s.current()).toBe(0);
    expect(s.satisfiedBy(0)).toBe(true);
  });

  it('rises to the highest observed revision', () => {
    const s = new SessionRevisionFloor();
    s.observe(5);
    expect(s.current()).toBe(5);
    s.observe(9);
    expect(s.current()).toBe(9);
  });

  it('never falls: an older revision seen later does not lower the floor (monotonic reads)', () => {
    const s = new SessionRevisionFloor();
    s.observe(10);
    s.observe(3);
    s.observe(10);
    s.observe(0);
    expect(s.current()).toBe(10);
  });

  it('a cache satisfies the session only at or above the floor (read-your-writes)', () => {
    const s = new SessionRevisionFloor();
    s.observe(7); // e.g. the revision of a write the proxy forwarded
    expect(s.satisfiedBy(6)).toBe(false);
    expect(s.satisfiedBy(7)).toBe(true);
    expect(s.satisfiedBy(8)).toBe(true);
  });

  it('accepts the largest safe integer', () => {
    const s = new SessionRevisionFloor();
    s.observe(Number.MAX_SAFE_INTEGER);
    expect(s.current()).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('rejects revisions that are not non-negative safe integers, leaving the floor alone', () => {
    const s = new SessionRevisionFloor();
    s.observe(4);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
      expect(() => s.observe(bad)).toThrow(RangeError);
    }
    expect(s.current()).toBe(4);
  });

  it('sessions are independent', () => {
    const a = new SessionRevisionFloor();
    const b = new SessionRevisionFloor();
    a.observe(100);
    expect(b.current()).toBe(0);
    expect(b.satisfiedBy(1)).toBe(true);
  });
});
