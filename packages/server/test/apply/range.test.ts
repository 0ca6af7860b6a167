import { beforeEach, describe, expect, it } from 'vitest';
import { executeRange } from '@kvfleet/core';
import { SortOrder, SortTarget } from '../../src/apply/requests.js';
import { MvccError } from '../../src/mvcc/errors.js';
import type { KvStore } from '../../src/mvcc/kv-store.js';
import { FROM_KEY, del, k, keys, openStore, pairs, put, rangeReq } from './helpers.js';

/**
 * The fixture, one write per revision:
 *   r2 b, r3 d, r4 a, r5 c, r6 c, r7 b, r8 c, r9 d, r10 c, r11 b, r12 e, r13 delete e
 * so, live at r13:
 *   key  create  mod  version  value
 *   a    4       4    1        "m"
 *   b    2       11   3        "z"
 *   c    5       10   4        "a"
 *   d    3       9    2        "q"
 * Every sort target gives a different order and no ties.
 */
let store: KvStore;

beforeEach(async () => {
  store = await openStore();
  await put(store, 'b', 'b1'); // r2
  await put(store, 'd', 'd1'); // r3
  await put(store, 'a', 'm'); // r4
  await put(store, 'c', 'c1'); // r5
  await put(store, 'c', 'c2'); // r6
  await put(store, 'b', 'b2'); // r7
  await put(store, 'c', 'c3'); // r8
  await put(store, 'd', 'q'); // r9
  await put(store, 'c', 'a'); // r10
  await put(store, 'b', 'z'); // r11
  await put(store, 'e', 'e1'); // r12
  expect(await del(store, 'e')).toBe(13);
});

const all = { rangeEnd: FROM_KEY };

describe('executeRange: plain ranges', () => {
  it('reads a single key and a [key, end) range', () => {
    const one = executeRange(store, rangeReq('b'));
    expect(pairs(one.kvs)).toEqual(['b=z']);
    expect(one.count).toBe(1);
    expect(one.more).toBe(false);
    expect(one.kvs[0]).toMatchObject({ createRevision: 2, modRevision: 11, version: 3, lease: 0 });

    const ab = executeRange(store, rangeReq('a', { rangeEnd: k('c') }));
    expect(keys(ab.kvs)).toEqual(['a', 'b']);
    expect(ab.count).toBe(2);
    expect(ab.more).toBe(false);
  });

  it('a missing key gives nothing, count 0', () => {
    expect(executeRange(store, rangeReq('zz'))).toEqual({ kvs: [], more: false, count: 0 });
    // A deleted key is gone too.
    expect(executeRange(store, rangeReq('e'))).toEqual({ kvs: [], more: false, count: 0 });
  });

  it('"\\0" as range end reads every key >= key; key "\\0" too reads everything', () => {
    expect(keys(executeRange(store, rangeReq('b', all)).kvs)).toEqual(['b', 'c', 'd']);
    const everything = executeRange(store, rangeReq(new Uint8Array([0]), all));
    expect(keys(everything.kvs)).toEqual(['a', 'b', 'c', 'd']);
    expect(everything.count).toBe(4);
  });

  it('prefix ranges select exactly the prefix', async () => {
    await put(store, 'pre/1', '1');
    await put(store, 'pre/2', '2');
    await put(store, 'pre', 'p');
    await put(store, 'pre0', 'x');
    await put(store, 'prf', 'y');
    const res = executeRange(store, rangeReq('pre/', { rangeEnd: k('pre0') }));
    expect(keys(res.kvs)).toEqual(['pre/1', 'pre/2']);
    expect(res.count).toBe(2);
  });

  it('a range whose end is not above its key is empty', () => {
    expect(executeRange(store, rangeReq('c', { rangeEnd: k('b') })).kvs).toEqual([]);
    expect(executeRange(store, rangeReq('c', { rangeEnd: k('c') })).kvs).toEqual([]);
  });
});

describe('executeRange: limit, more, count', () => {
  it('limit cuts the result, sets more, and count is the whole range', () => {
    const res = executeRange(store, rangeReq('a', { ...all, limit: 2 }));
    expect(keys(res.kvs)).toEqual(['a', 'b']);
    expect(res.more).toBe(true);
    expect(res.count).toBe(4);
  });

  it('limit equal to or above the number of keys: more is false', () => {
    for (const limit of [4, 5, 100]) {
      const res = executeRange(store, rangeReq('a', { ...all, limit }));
      expect(keys(res.kvs)).toEqual(['a', 'b', 'c', 'd']);
      expect(res.more).toBe(false);
      expect(res.count).toBe(4);
    }
  });

  it('limit 0 means no limit', () => {
    const res = executeRange(store, rangeReq('a', { ...all, limit: 0 }));
    expect(res.kvs).toHaveLength(4);
    expect(res.more).toBe(false);
  });

  it('limit 1 over a single key is not "more"', () => {
    const res = executeRange(store, rangeReq('a', { limit: 1 }));
    expect(keys(res.kvs)).toEqual(['a']);
    expect(res.more).toBe(false);
    expect(res.count).toBe(1);
  });

  it('limit with a sort cuts after sorting', () => {
    const res = executeRange(store, rangeReq('a', { ...all, limit: 2, sortOrder: SortOrder.DESCEND }));
    expect(keys(res.kvs)).toEqual(['d', 'c']);
    expect(res.more).toBe(true);
    expect(res.count).toBe(4);

    const byMod = executeRange(store, rangeReq('a', { ...all, limit: 3, sortOrder: SortOrder.DESCEND, sortTarget: SortTarget.MOD }));
    expect(keys(byMod.kvs)).toEqual(['b', 'c', 'd']);
    expect(byMod.more).toBe(true);
    expect(byMod.count).toBe(4);
  });

  it('sort KEY ASCEND with a limit still sets more', () => {
    const res = executeRange(store, rangeReq('a', { ...all, limit: 3, sortOrder: SortOrder.ASCEND }));
    expect(keys(res.kvs)).toEqual(['a', 'b', 'c']);
    expect(res.more).toBe(true);
    expect(res.count).toBe(4);
  });
});

describe('executeRange: sorting', () => {
  const table: [string, number, string[]][] = [
    ['KEY', SortTarget.KEY, ['a', 'b', 'c', 'd']],
    ['VERSION', SortTarget.VERSION, ['a', 'd', 'b', 'c']],
    ['CREATE', SortTarget.CREATE, ['b', 'd', 'a', 'c']],
    ['MOD', SortTarget.MOD, ['a', 'd', 'c', 'b']],
    ['VALUE', SortTarget.VALUE, ['c', 'a', 'd', 'b']],
  ];

  for (const [name, target, ascending] of table) {
    it(`sorts by ${name} ascending and descending`, () => {
      const asc = executeRange(store, rangeReq('a', { ...all, sortTarget: target, sortOrder: SortOrder.ASCEND }));
      expect(keys(asc.kvs)).toEqual(ascending);
      expect(asc.count).toBe(4);
      const desc = executeRange(store, rangeReq('a', { ...all, sortTarget: target, sortOrder: SortOrder.DESCEND }));
      expect(keys(desc.kvs)).toEqual([...ascending].reverse());
      expect(desc.count).toBe(4);
    });
  }

  for (const [name, target, ascending] of table.slice(1)) {
    it(`target ${name} with order NONE sorts ascending`, () => {
      const res = executeRange(store, rangeReq('a', { ...all, sortTarget: target, sortOrder: SortOrder.NONE }));
      expect(keys(res.kvs)).toEqual(ascending);
    });
  }

  it('target KEY with order NONE keeps key order', () => {
    expect(keys(executeRange(store, rangeReq('a', { ...all })).kvs)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('target other than KEY, order NONE and a limit: like etcd, fetches limit+1 by key, then sorts those', () => {
    // etcd decides whether to fetch everything from the request's raw sort_order (NONE), so
    // only a, b, c (limit + 1) are read and sorted by version: a(1), b(3), c(4).
    const res = executeRange(store, rangeReq('a', { ...all, sortTarget: SortTarget.VERSION, limit: 2 }));
    expect(keys(res.kvs)).toEqual(['a', 'b']);
    expect(res.more).toBe(true);
    expect(res.count).toBe(4);
  });

  it('keys_only strips values', () => {
    const res = executeRange(store, rangeReq('a', { ...all, keysOnly: true }));
    expect(keys(res.kvs)).toEqual(['a', 'b', 'c', 'd']);
    for (const kv of res.kvs) expect(kv.value).toHaveLength(0);
    expect(res.kvs[1]).toMatchObject({ createRevision: 2, modRevision: 11, version: 3 });
  });

  it('keys_only with a sort by VALUE still sorts by the values, then strips them', () => {
    for (const sortOrder of [SortOrder.ASCEND, SortOrder.NONE]) {
      const res = executeRange(store, rangeReq('a', { ...all, keysOnly: true, sortTarget: SortTarget.VALUE, sortOrder }));
      expect(keys(res.kvs)).toEqual(['c', 'a', 'd', 'b']);
      for (const kv of res.kvs) expect(kv.value).toHaveLength(0);
    }
    const desc = executeRange(store, rangeReq('a', { ...all, keysOnly: true, sortTarget: SortTarget.VALUE, sortOrder: SortOrder.DESCEND, limit: 2 }));
    expect(keys(desc.kvs)).toEqual(['b', 'd']);
    expect(desc.more).toBe(true);
    for (const kv of desc.kvs) expect(kv.value).toHaveLength(0);
  });

  it('sorting by VALUE compares bytes unsigned, shorter prefix first', async () => {
    const s = await openStore();
    await s.write({ consistentIndex: 1, consistentTerm: 1 }, (t) => {
      t.put(k('k1'), new Uint8Array([0xff]));
      t.put(k('k2'), new Uint8Array([0x01, 0x00]));
      t.put(k('k3'), new Uint8Array([0x01]));
      t.put(k('k4'), new Uint8Array([]));
    });
    const res = executeRange(s, rangeReq('k', { rangeEnd: k('l'), sortTarget: SortTarget.VALUE, sortOrder: SortOrder.ASCEND }));
    expect(keys(res.kvs)).toEqual(['k4', 'k3', 'k2', 'k1']);
  });
});

describe('executeRange: revision filters', () => {
  it('min_mod_revision drops older keys; count is unaffected', () => {
    const res = executeRange(store, rangeReq('a', { ...all, minModRevision: 10 }));
    expect(keys(res.kvs)).toEqual(['b', 'c']);
    expect(res.count).toBe(4);
    expect(res.more).toBe(false);
  });

  it('max_mod_revision drops newer keys; count is unaffected', () => {
    const res = executeRange(store, rangeReq('a', { ...all, maxModRevision: 9 }));
    expect(keys(res.kvs)).toEqual(['a', 'd']);
    expect(res.count).toBe(4);
  });

  it('min/max bounds are inclusive', () => {
    expect(keys(executeRange(store, rangeReq('a', { ...all, minModRevision: 9, maxModRevision: 10 })).kvs)).toEqual(['c', 'd']);
    expect(keys(executeRange(store, rangeReq('a', { ...all, minCreateRevision: 3, maxCreateRevision: 4 })).kvs)).toEqual(['a', 'd']);
  });

  it('min/max create_revision filter on creation; count is unaffected', () => {
    const min = executeRange(store, rangeReq('a', { ...all, minCreateRevision: 4 }));
    expect(keys(min.kvs)).toEqual(['a', 'c']);
    expect(min.count).toBe(4);
    const max = executeRange(store, rangeReq('a', { ...all, maxCreateRevision: 3 }));
    expect(keys(max.kvs)).toEqual(['b', 'd']);
    expect(max.count).toBe(4);
  });

  it('filters apply before the limit; more reflects what the filter left', () => {
    // maxMod 10 leaves a, c, d; limit 2 keeps a, c.
    const res = executeRange(store, rangeReq('a', { ...all, maxModRevision: 10, limit: 2 }));
    expect(keys(res.kvs)).toEqual(['a', 'c']);
    expect(res.more).toBe(true);
    expect(res.count).toBe(4);
    // maxMod 9 leaves a, d; limit 2 keeps both, nothing more.
    const exact = executeRange(store, rangeReq('a', { ...all, maxModRevision: 9, limit: 2 }));
    expect(keys(exact.kvs)).toEqual(['a', 'd']);
    expect(exact.more).toBe(false);
    expect(exact.count).toBe(4);
  });

  it('a filter that drops everything gives no kvs but the full count', () => {
    const res = executeRange(store, rangeReq('a', { ...all, minModRevision: 100 }));
    expect(res.kvs).toEqual([]);
    expect(res.count).toBe(4);
    expect(res.more).toBe(false);
  });

  it('filters combine with sorting', () => {
    const res = executeRange(store, rangeReq('a', { ...all, minCreateRevision: 3, sortTarget: SortTarget.VALUE, sortOrder: SortOrder.DESCEND }));
    expect(keys(res.kvs)).toEqual(['d', 'a', 'c']);
  });
});

describe('executeRange: count_only', () => {
  it('gives the count and no kvs', () => {
    expect(executeRange(store, rangeReq('a', { ...all, countOnly: true }))).toEqual({ kvs: [], more: false, count: 4 });
    expect(executeRange(store, rangeReq('b', { countOnly: true }))).toEqual({ kvs: [], more: false, count: 1 });
    expect(executeRange(store, rangeReq('e', { countOnly: true }))).toEqual({ kvs: [], more: false, count: 0 });
  });

  it('ignores limit and filters for the count', () => {
    expect(executeRange(store, rangeReq('a', { ...all, countOnly: true, limit: 1 }))).toEqual({ kvs: [], more: false, count: 4 });
    expect(executeRange(store, rangeReq('a', { ...all, countOnly: true, minModRevision: 100 })).count).toBe(4);
  });

  it('counts at a past revision', () => {
    expect(executeRange(store, rangeReq('a', { ...all, countOnly: true, revision: 3 })).count).toBe(2);
    expect(executeRange(store, rangeReq('a', { ...all, countOnly: true, revision: 12 })).count).toBe(5);
  });
});

describe('executeRange: revision reads', () => {
  it('reads the store as it was at the revision', () => {
    const at5 = executeRange(store, rangeReq('a', { ...all, revision: 5 }));
    expect(pairs(at5.kvs)).toEqual(['a=m', 'b=b1', 'c=c1', 'd=d1']);
    expect(at5.count).toBe(4);
    const at3 = executeRange(store, rangeReq('a', { ...all, revision: 3 }));
    expect(pairs(at3.kvs)).toEqual(['b=b1', 'd=d1']);
    expect(at3.kvs[1]).toMatchObject({ createRevision: 3, modRevision: 3, version: 1 });
    // A deleted key is visible before its deletion.
    expect(pairs(executeRange(store, rangeReq('e', { revision: 12 })).kvs)).toEqual(['e=e1']);
  });

  it('applies limit, sort and filters at the revision', () => {
    const res = executeRange(store, rangeReq('a', { ...all, revision: 8, sortTarget: SortTarget.VERSION, sortOrder: SortOrder.DESCEND, limit: 2 }));
    // At r8: a v1, b v2, c v3, d v1.
    expect(keys(res.kvs)).toEqual(['c', 'b']);
    expect(res.more).toBe(true);
    expect(res.count).toBe(4);
    const filtered = executeRange(store, rangeReq('a', { ...all, revision: 8, minModRevision: 7 }));
    expect(keys(filtered.kvs)).toEqual(['b', 'c']);
    expect(filtered.count).toBe(4);
  });

  it('a future revision is refused', () => {
    expect(() => executeRange(store, rangeReq('a', { revision: 14 }))).toThrow(MvccError);
    try {
      executeRange(store, rangeReq('a', { revision: 14 }));
    } catch (e) {
      expect((e as MvccError).code).toBe('ErrFutureRev');
    }
  });

  it('a compacted revision is refused', async () => {
    await store.compact(6);
    let code: string | undefined;
    try {
      executeRange(store, rangeReq('a', { ...all, revision: 5 }));
    } catch (e) {
      code = (e as MvccError).code;
    }
    expect(code).toBe('ErrCompacted');
    expect(pairs(executeRange(store, rangeReq('a', { ...all, revision: 6 })).kvs)).toEqual(['a=m', 'b=b1', 'c=c2', 'd=d1']);
  });
});
