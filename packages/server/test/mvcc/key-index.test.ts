import { describe, expect, it } from 'vitest';
import { KeyIndex } from '../../src/mvcc/key-index.js';
import { RevisionSet } from '../../src/mvcc/revision.js';
import { k, mains, r } from './helpers.js';

/** put@2, put@4, del@6, put@8, put@10, del@12, put@14, put@16: the example of key-index.ts. */
function example(): KeyIndex {
  const ki = new KeyIndex(k('foo'));
  ki.put(r(2));
  ki.put(r(4));
  ki.tombstone(r(6));
  ki.put(r(8));
  ki.put(r(10));
  ki.tombstone(r(12));
  ki.put(r(14));
  ki.put(r(16));
  return ki;
}

/** Generations as lists of mains, for compact assertions. */
function shape(ki: KeyIndex): number[][] {
  return ki.generations.map((g) => g.revisions.map((x) => x.main));
}

describe('KeyIndex generations', () => {
  it('splits history at tombstones', () => {
    const ki = example();
    expect(ki.modified).toEqual(r(16));
    expect(shape(ki)).toEqual([[2, 4, 6], [8, 10, 12], [14, 16]]);
    expect(ki.generations.map((g) => [g.created.main, g.version])).toEqual([[2, 3], [8, 3], [14, 2]]);
    expect(ki.isLive()).toBe(true);
    ki.tombstone(r(18));
    expect(shape(ki)).toEqual([[2, 4, 6], [8, 10, 12], [14, 16, 18], []]);
    expect(ki.isLive()).toBe(false);
    expect(ki.isEmpty()).toBe(false);
  });

  it('refuses a tombstone without a live key', () => {
    const ki = new KeyIndex(k('foo'));
    expect(ki.isEmpty()).toBe(true);
    expect(() => ki.tombstone(r(1))).toThrow(expect.objectContaining({ code: 'ErrMvccRevisionNotFound' }));
    ki.put(r(1));
    ki.tombstone(r(2));
    expect(() => ki.tombstone(r(3))).toThrow(expect.objectContaining({ code: 'ErrMvccRevisionNotFound' }));
    expect(ki.modified).toEqual(r(2));
  });

  it('refuses revisions that do not advance', () => {
    const ki = new KeyIndex(k('foo'));
    ki.put(r(5, 1));
    for (const bad of [r(5, 1), r(5, 0), r(4, 9)]) {
      expect(() => ki.put(bad)).toThrow(expect.objectContaining({ code: 'ErrMvccRevisionOrder' }));
      expect(() => ki.tombstone(bad)).toThrow(expect.objectContaining({ code: 'ErrMvccRevisionOrder' }));
    }
    expect(() => ki.put(r(-1))).toThrow(expect.objectContaining({ code: 'ErrMvccInvalidRevision' }));
    ki.put(r(5, 2));
    expect(ki.get(5)).toEqual({ found: true, modified: r(5, 2), created: r(5, 1), version: 2 });
  });
});

describe('KeyIndex.get', () => {
  const cases: Array<[number, [number, number, number] | undefined]> = [
    [0, undefined], // before the first put
    [1, undefined],
    [2, [2, 2, 1]],
    [3, [2, 2, 1]],
    [4, [4, 2, 2]],
    [5, [4, 2, 2]],
    [6, undefined], // the tombstone hides the key at its own revision
    [7, undefined],
    [8, [8, 8, 1]],
    [11, [10, 8, 2]],
    [12, undefined],
    [13, undefined],
    [14, [14, 14, 1]],
    [15, [14, 14, 1]],
    [16, [16, 14, 2]],
    [1000, [16, 14, 2]],
  ];
  it.each(cases)('at %i', (at, want) => {
    const got = example().get(at);
    if (want === undefined) expect(got).toEqual({ found: false });
    else expect(got).toEqual({ found: true, modified: r(want[0]), created: r(want[1]), version: want[2] });
  });

  it('is not found after a final tombstone', () => {
    const ki = example();
    ki.tombstone(r(18));
    expect(ki.get(17).found).toBe(true);
    expect(ki.get(18).found).toBe(false);
    expect(ki.get(100).found).toBe(false);
  });

  it('keeps created and version across compaction', () => {
    const ki = example();
    ki.compact(11);
    expect(ki.get(11)).toEqual({ found: true, modified: r(10), created: r(8), version: 2 });
    ki.put(r(20));
    expect(ki.get(20)).toEqual({ found: true, modified: r(20), created: r(14), version: 3 });
    ki.compact(20);
    expect(ki.get(20)).toEqual({ found: true, modified: r(20), created: r(14), version: 3 });
  });
});

describe('KeyIndex.since', () => {
  it('returns changes with main >= rev, across generations', () => {
    const ki = example();
    const m = (rev: number): number[] => ki.since(rev).map((x) => x.main);
    expect(m(0)).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    expect(m(6)).toEqual([6, 8, 10, 12, 14, 16]);
    expect(m(10)).toEqual([10, 12, 14, 16]);
    expect(m(13)).toEqual([14, 16]);
    expect(m(16)).toEqual([16]);
    expect(m(17)).toEqual([]);
  });

  it('keeps only the last change of a request', () => {
    const ki = new KeyIndex(k('a'));
    ki.put(r(1, 0));
    ki.put(r(2, 0));
    ki.put(r(2, 1));
    ki.tombstone(r(2, 2));
    ki.put(r(3, 0));
    expect(ki.since(1)).toEqual([r(1, 0), r(2, 2), r(3, 0)]);
    expect(ki.since(2)).toEqual([r(2, 2), r(3, 0)]);
  });
});

describe('KeyIndex.compact', () => {
  // [atRev, kept mains, generations left]; the worked example of KeyIndex.compact.
  const cases: Array<[number, number[], number[][]]> = [
    [0, [], [[2, 4, 6], [8, 10, 12], [14, 16]]],
    [1, [], [[2, 4, 6], [8, 10, 12], [14, 16]]],
    [2, [2], [[2, 4, 6], [8, 10, 12], [14, 16]]],
    [3, [2], [[2, 4, 6], [8, 10, 12], [14, 16]]],
    [4, [4], [[4, 6], [8, 10, 12], [14, 16]]],
    [5, [4], [[4, 6], [8, 10, 12], [14, 16]]],
    [6, [], [[8, 10, 12], [14, 16]]],
    [7, [], [[8, 10, 12], [14, 16]]],
    [8, [8], [[8, 10, 12], [14, 16]]],
    [11, [10], [[10, 12], [14, 16]]],
    [12, [], [[14, 16]]],
    [13, [], [[14, 16]]],
    [14, [14], [[14, 16]]],
    [15, [14], [[14, 16]]],
    [16, [16], [[16]]],
    [99, [16], [[16]]],
  ];
  it.each(cases)('at %i', (at, kept, left) => {
    const ki = example();
    const before = example();
    expect(mains(ki.keep(at))).toEqual(kept);
    expect(shape(ki)).toEqual(shape(before)); // keep changes nothing
    expect(mains(ki.compact(at))).toEqual(kept);
    expect(shape(ki)).toEqual(left);
    expect(ki.isEmpty()).toBe(false);
    // Reads at and after the compaction revision are unchanged.
    for (let at2 = at; at2 <= 20; at2++) expect(ki.get(at2)).toEqual(before.get(at2));
  });

  it('empties a deleted key once the compaction reaches its tombstone', () => {
    const ki = example();
    ki.tombstone(r(18));
    expect(mains(ki.compact(17))).toEqual([16]);
    expect(shape(ki)).toEqual([[16, 18], []]);
    expect(ki.isEmpty()).toBe(false);
    expect(mains(ki.keep(18))).toEqual([]);
    expect(mains(ki.compact(18))).toEqual([]);
    expect(shape(ki)).toEqual([[]]);
    expect(ki.isEmpty()).toBe(true);
    // The emptied index can take the key again.
    ki.put(r(19));
    expect(ki.get(19)).toEqual({ found: true, modified: r(19), created: r(19), version: 1 });
  });

  it('is cumulative: compacting in steps equals compacting once', () => {
    for (let last = 0; last <= 20; last++) {
      const stepped = example();
      const once = example();
      const steps = new RevisionSet();
      for (let at = 0; at <= last; at += 3) stepped.compact(at, steps);
      stepped.compact(last);
      once.compact(last);
      expect(shape(stepped)).toEqual(shape(once));
    }
  });

  it('adds to the given set', () => {
    const set = new RevisionSet().add(r(100));
    const out = example().compact(5, set);
    expect(out).toBe(set);
    expect(mains(set)).toEqual([4, 100]);
  });
});
