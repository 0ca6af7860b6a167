import { describe, expect, it } from 'vitest';
import { TreeIndex } from '../../src/mvcc/tree-index.js';
import { b, k, mains, r, str } from './helpers.js';

/**
 * foo: put@1, put@3, del@5, put@7
 * foo1: put@2, del@4
 * foo2: put@3.1 (same request as foo@3), put@6
 * bar: put@8
 */
function example(): TreeIndex {
  const ti = new TreeIndex({ maxNodeSize: 4 });
  ti.put(k('foo'), r(1));
  ti.put(k('foo1'), r(2));
  ti.put(k('foo'), r(3, 0));
  ti.put(k('foo2'), r(3, 1));
  ti.tombstone(k('foo1'), r(4));
  ti.tombstone(k('foo'), r(5));
  ti.put(k('foo2'), r(6));
  ti.put(k('foo'), r(7));
  ti.put(k('bar'), r(8));
  return ti;
}

function keysAt(ti: TreeIndex, key: string, end: Uint8Array | undefined, at: number, limit?: number): string[] {
  return ti.range(k(key), end, at, limit === undefined ? {} : { limit }).entries.map((e) => `${str(e.key)}@${String(e.modified.main)}`);
}

describe('TreeIndex.get', () => {
  it('resolves each key at each revision', () => {
    const ti = example();
    expect(ti.get(k('foo'), 0)).toEqual({ found: false });
    expect(ti.get(k('foo'), 4)).toEqual({ found: true, modified: r(3), created: r(1), version: 2 });
    expect(ti.get(k('foo'), 5).found).toBe(false);
    expect(ti.get(k('foo'), 7)).toEqual({ found: true, modified: r(7), created: r(7), version: 1 });
    expect(ti.get(k('foo1'), 3)).toEqual({ found: true, modified: r(2), created: r(2), version: 1 });
    expect(ti.get(k('foo1'), 4).found).toBe(false);
    expect(ti.get(k('foo2'), 3)).toEqual({ found: true, modified: r(3, 1), created: r(3, 1), version: 1 });
    expect(ti.get(k('nope'), 8).found).toBe(false);
    expect(() => ti.get(k('foo'), -1)).toThrow(expect.objectContaining({ code: 'ErrMvccInvalidArgument' }));
  });

  it('refuses a tombstone of an unknown or deleted key', () => {
    const ti = example();
    expect(() => ti.tombstone(k('zzz'), r(9))).toThrow(expect.objectContaining({ code: 'ErrMvccRevisionNotFound' }));
    expect(() => ti.tombstone(k('foo1'), r(9))).toThrow(expect.objectContaining({ code: 'ErrMvccRevisionNotFound' }));
  });

  it('leaves no trace of a refused first put', () => {
    const ti = new TreeIndex();
    expect(() => ti.put(k('x'), r(-1))).toThrow(expect.objectContaining({ code: 'ErrMvccInvalidRevision' }));
    expect(ti.size).toBe(0);
    expect(ti.keyIndex(k('x'))).toBeUndefined();
  });

  it('owns its keys', () => {
    const ti = new TreeIndex();
    const key = k('abc');
    ti.put(key, r(1));
    key[0] = 0x7a;
    expect(ti.get(k('abc'), 1).found).toBe(true);
    expect(ti.get(k('zbc'), 1).found).toBe(false);
  });
});

describe('TreeIndex.range', () => {
  it('single key when end is undefined or empty', () => {
    const ti = example();
    expect(keysAt(ti, 'foo', undefined, 8)).toEqual(['foo@7']);
    expect(keysAt(ti, 'foo', b(), 8)).toEqual(['foo@7']);
    expect(keysAt(ti, 'foo', undefined, 6)).toEqual([]);
  });

  it('half-open [key, end) at several revisions', () => {
    const ti = example();
    expect(keysAt(ti, 'foo', k('foo2'), 3)).toEqual(['foo@3', 'foo1@2']);
    expect(keysAt(ti, 'foo', k('foo3'), 3)).toEqual(['foo@3', 'foo1@2', 'foo2@3']);
    expect(keysAt(ti, 'foo', k('foo3'), 4)).toEqual(['foo@3', 'foo2@3']);
    expect(keysAt(ti, 'foo', k('foo3'), 5)).toEqual(['foo2@3']);
    expect(keysAt(ti, 'foo', k('foo3'), 8)).toEqual(['foo@7', 'foo2@6']);
    expect(keysAt(ti, 'a', k('z'), 8)).toEqual(['bar@8', 'foo@7', 'foo2@6']);
    expect(keysAt(ti, 'a', k('z'), 0)).toEqual([]);
    expect(keysAt(ti, 'foo', k('foo'), 8)).toEqual([]); // end == key
    expect(keysAt(ti, 'foo', k('bar'), 8)).toEqual([]); // end < key
  });

  it('treats end [0x00] as the end of the keyspace', () => {
    const ti = example();
    expect(keysAt(ti, 'foo', b(0), 8)).toEqual(['foo@7', 'foo2@6']);
    expect(keysAt(ti, '', b(0), 8)).toEqual(['bar@8', 'foo@7', 'foo2@6']);
    expect(keysAt(ti, '\x00', b(0), 3)).toEqual(['foo@3', 'foo1@2', 'foo2@3']);
  });

  it('applies the limit and reports more', () => {
    const ti = example();
    const at = (limit: number): [string[], boolean] => {
      const res = ti.range(k('a'), b(0), 3, { limit });
      return [res.entries.map((e) => str(e.key)), res.more];
    };
    expect(at(0)).toEqual([['foo', 'foo1', 'foo2'], false]);
    expect(at(1)).toEqual([['foo'], true]);
    expect(at(2)).toEqual([['foo', 'foo1'], true]);
    expect(at(3)).toEqual([['foo', 'foo1', 'foo2'], false]);
    expect(at(4)).toEqual([['foo', 'foo1', 'foo2'], false]);
    // Invisible keys after the limit do not count as more.
    expect(ti.range(k('foo'), k('foo2'), 4, { limit: 1 })).toMatchObject({ more: false });
    expect(() => ti.range(k('a'), undefined, 3, { limit: -1 })).toThrow(expect.objectContaining({ code: 'ErrMvccInvalidArgument' }));
    expect(ti.countRevisions(k('a'), b(0), 3)).toBe(3);
    expect(ti.countRevisions(k('a'), b(0), 5)).toBe(1);
    expect(ti.countRevisions(k('foo'), undefined, 5)).toBe(0);
    expect(ti.countRevisions(k('foo'), undefined, 8)).toBe(1);
  });

  it('handles 0x00 and 0xff bytes at range boundaries', () => {
    const ti = new TreeIndex({ maxNodeSize: 4 });
    const keys = [b(), b(0x00), b(0x00, 0x00), b(0x01), b(0x7f), b(0x80), b(0xfe, 0xff), b(0xff), b(0xff, 0x00), b(0xff, 0xff), b(0xff, 0xff, 0xff)];
    keys.forEach((key, i) => ti.put(key, r(i + 1)));
    const hex = (start: Uint8Array, end: Uint8Array | undefined): string[] =>
      ti.range(start, end, 100).entries.map((e) => Buffer.from(e.key).toString('hex'));
    expect(hex(b(0xff), b(0)).length).toBe(4);
    expect(hex(b(0xff), b(0xff, 0xff))).toEqual(['ff', 'ff00']);
    expect(hex(b(0x00), b(0x00, 0x00))).toEqual(['00']);
    expect(hex(b(0x00), b(0x00, 0x01))).toEqual(['00', '0000']);
    expect(hex(b(), b(0x01))).toEqual(['', '00', '0000']);
    expect(hex(b(0x7f), b(0xff))).toEqual(['7f', '80', 'feff']);
    expect(hex(b(), b(0)).length).toBe(keys.length);
    expect(hex(b(0xff, 0xff, 0xff), b(0))).toEqual(['ffffff']);
    expect(hex(b(0xff, 0xff, 0xff, 0x00), b(0))).toEqual([]);
    // Prefix range "ff" → end "ff" + 1 is not representable, so etcd uses "\0": all keys >= ff.
    expect(hex(b(0xff), b(0x00))).toEqual(['ff', 'ff00', 'ffff', 'ffffff']);
  });
});

describe('TreeIndex.rangeSince', () => {
  it('lists changes by revision from rev on', () => {
    const ti = example();
    const since = (key: string, end: Uint8Array | undefined, rev: number): string[] =>
      ti.rangeSince(k(key), end, rev).map((x) => `${str(x.key)}@${String(x.revision.main)}.${String(x.revision.sub)}`);
    expect(since('foo', b(0), 0)).toEqual(['foo@1.0', 'foo1@2.0', 'foo@3.0', 'foo2@3.1', 'foo1@4.0', 'foo@5.0', 'foo2@6.0', 'foo@7.0']);
    expect(since('a', b(0), 5)).toEqual(['foo@5.0', 'foo2@6.0', 'foo@7.0', 'bar@8.0']);
    expect(since('foo', undefined, 2)).toEqual(['foo@3.0', 'foo@5.0', 'foo@7.0']);
    expect(since('foo1', k('foo2'), 3)).toEqual(['foo1@4.0']);
    expect(since('zzz', undefined, 0)).toEqual([]);
  });
});

describe('TreeIndex.compact', () => {
  // [rev, kept revisions, keys left in the tree]
  const cases: Array<[number, string[], string[]]> = [
    [0, [], ['bar', 'foo', 'foo1', 'foo2']],
    [1, ['1.0'], ['bar', 'foo', 'foo1', 'foo2']],
    [2, ['1.0', '2.0'], ['bar', 'foo', 'foo1', 'foo2']],
    [3, ['2.0', '3.0', '3.1'], ['bar', 'foo', 'foo1', 'foo2']],
    [4, ['3.0', '3.1'], ['bar', 'foo', 'foo2']], // foo1 deleted at 4: gone
    [5, ['3.1'], ['bar', 'foo', 'foo2']], // foo's first generation gone, second not yet started
    [6, ['6.0'], ['bar', 'foo', 'foo2']],
    [7, ['6.0', '7.0'], ['bar', 'foo', 'foo2']],
    [8, ['6.0', '7.0', '8.0'], ['bar', 'foo', 'foo2']],
  ];
  it.each(cases)('at %i', (rev, kept, left) => {
    const ti = example();
    const fmt = (set: ReturnType<TreeIndex['keep']>): string[] => set.sorted().map((x) => `${String(x.main)}.${String(x.sub)}`);
    expect(fmt(ti.keep(rev))).toEqual(kept);
    expect(ti.size).toBe(4);
    expect(fmt(ti.compact(rev))).toEqual(kept);
    expect(ti.range(k(''), b(0), 0).entries.length).toBe(0);
    expect(ti.size).toBe(left.length);
    // Every indexed key, visible or not.
    const indexed = ['bar', 'foo', 'foo1', 'foo2'].filter((name) => ti.keyIndex(k(name)) !== undefined);
    expect(indexed).toEqual(left);
    // Reads at and after rev are unchanged.
    const ref = example();
    for (let at = rev; at <= 9; at++) {
      expect(ti.range(k(''), b(0), at)).toEqual(ref.range(k(''), b(0), at));
    }
  });

  it('a compacted-away key can be created again', () => {
    const ti = example();
    expect(mains(ti.compact(4))).toEqual([3, 3]);
    ti.put(k('foo1'), r(9));
    expect(ti.get(k('foo1'), 9)).toEqual({ found: true, modified: r(9), created: r(9), version: 1 });
    expect(ti.get(k('foo1'), 3).found).toBe(false);
  });
});
