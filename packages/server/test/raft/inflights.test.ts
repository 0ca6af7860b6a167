import { describe, expect, it } from 'vitest';
import { Inflights } from '../../src/raft/inflights.js';

/** Adds lastIndex values lo..hi inclusive. */
function addRange(inf: Inflights, lo: number, hi: number): void {
  for (let i = lo; i <= hi; i++) inf.add(i);
}

describe('Inflights', () => {
  it('starts empty and not full', () => {
    const inf = new Inflights(4);
    expect(inf.capacity).toBe(4);
    expect(inf.size()).toBe(0);
    expect(inf.full()).toBe(false);
  });

  it('add counts up to capacity and then reports full', () => {
    const inf = new Inflights(3);
    inf.add(1);
    inf.add(2);
    expect(inf.size()).toBe(2);
    expect(inf.full()).toBe(false);
    inf.add(3);
    expect(inf.size()).toBe(3);
    expect(inf.full()).toBe(true);
  });

  it('throws when adding to a full window and keeps its contents', () => {
    const inf = new Inflights(2);
    addRange(inf, 1, 2);
    expect(() => inf.add(3)).toThrow(/full/);
    // The failed add must not have overwritten anything: both originals are still tracked.
    expect(inf.size()).toBe(2);
    inf.freeLE(1);
    expect(inf.size()).toBe(1);
    inf.freeLE(2);
    expect(inf.size()).toBe(0);
  });

  it('a zero-capacity window is always full', () => {
    const inf = new Inflights(0);
    expect(inf.full()).toBe(true);
    expect(() => inf.add(1)).toThrow();
  });

  it('freeLE frees every append with lastIndex <= index, in order', () => {
    const inf = new Inflights(10);
    addRange(inf, 0, 9);
    inf.freeLE(4);
    expect(inf.size()).toBe(5);
    expect(inf.full()).toBe(false);
    // A stale acknowledgement (below the oldest in flight) frees nothing.
    inf.freeLE(2);
    expect(inf.size()).toBe(5);
    inf.freeLE(8);
    expect(inf.size()).toBe(1);
    // Freeing far beyond the newest empties the window.
    inf.freeLE(100);
    expect(inf.size()).toBe(0);
    // And freeing an empty window is harmless.
    inf.freeLE(200);
    expect(inf.size()).toBe(0);
  });

  it('wraps around the ring buffer', () => {
    const inf = new Inflights(10);
    addRange(inf, 0, 4);
    inf.freeLE(4); // start is now at slot 5, window empty
    expect(inf.size()).toBe(0);
    // Ten more fill slots 5..9 then 0..4: the window wraps.
    addRange(inf, 5, 14);
    expect(inf.full()).toBe(true);
    expect(() => inf.add(15)).toThrow();
    // Freeing across the wrap point: 5..12 go, 13 and 14 stay.
    inf.freeLE(12);
    expect(inf.size()).toBe(2);
    // Room again after the wrap; the next adds land in the freed slots.
    addRange(inf, 15, 22);
    expect(inf.full()).toBe(true);
    inf.freeLE(14);
    expect(inf.size()).toBe(8);
    inf.freeLE(22);
    expect(inf.size()).toBe(0);
  });

  it('freeFirstOne frees exactly the oldest append, also after wrapping', () => {
    const inf = new Inflights(4);
    addRange(inf, 1, 3);
    inf.freeLE(2); // start at slot 2
    addRange(inf, 4, 6); // occupies slots 3, 0, 1: wrapped
    expect(inf.full()).toBe(true);
    inf.freeFirstOne(); // frees 3
    expect(inf.size()).toBe(3);
    expect(inf.full()).toBe(false);
    inf.freeFirstOne(); // frees 4, which sits in the wrapped-to slot
    expect(inf.size()).toBe(2);
    // What remains is exactly 5 and 6.
    inf.freeLE(4);
    expect(inf.size()).toBe(2);
    inf.freeLE(5);
    expect(inf.size()).toBe(1);
  });

  it('freeFirstOne on an empty window does nothing', () => {
    const inf = new Inflights(2);
    inf.freeFirstOne();
    expect(inf.size()).toBe(0);
    inf.add(7);
    expect(inf.size()).toBe(1);
  });

  it('reset empties the window so it can be refilled', () => {
    const inf = new Inflights(3);
    addRange(inf, 1, 3);
    inf.reset();
    expect(inf.size()).toBe(0);
    expect(inf.full()).toBe(false);
    addRange(inf, 10, 12);
    expect(inf.full()).toBe(true);
    inf.freeLE(10);
    expect(inf.size()).toBe(2);
  });
});
