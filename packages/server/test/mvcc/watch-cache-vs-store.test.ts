// The proxy's watch cache (core) against the member's MVCC store, fed the same changes: every
// Range variant at every revision the cache holds must read the same, and the cache's events
// must equal the store's history. A small window makes eviction happen all the time.
import { describe, expect, it } from 'vitest';
import {
  CacheMissError,
  EtcdError,
  executeRange,
  SeededRandom,
  SortOrder,
  SortTarget,
  WatchCache,
  type RangeRequest,
} from '@kvfleet/core';
import { MemoryBackend } from '../../src/backend/memory-backend.js';
import { MvccError } from '../../src/mvcc/errors.js';
import { KvStore } from '../../src/mvcc/kv-store.js';

const enc = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const KEYS = ['a', 'a/1', 'a/2', 'a/3', 'b', 'b/x', 'c', 'ca', 'd'];

function request(rnd: SeededRandom, revision: number): RangeRequest {
  const shapes: Array<[string, string]> = [
    [rnd.pick(KEYS), ''],
    ['a/', 'a0'],
    ['\0', '\0'],
    [rnd.pick(KEYS), '\0'],
    [rnd.pick(KEYS), rnd.pick(KEYS)],
  ];
  const [key, end] = rnd.pick(shapes);
  const filter = () => (rnd.chance(0.2) ? 1 + rnd.int(revision + 1) : 0);
  return {
    key: enc(key),
    rangeEnd: enc(end),
    limit: rnd.chance(0.5) ? rnd.int(4) : 0,
    revision,
    sortOrder: rnd.pick([SortOrder.NONE, SortOrder.NONE, SortOrder.ASCEND, SortOrder.DESCEND]),
    sortTarget: rnd.pick([SortTarget.KEY, SortTarget.VERSION, SortTarget.CREATE, SortTarget.MOD, SortTarget.VALUE]),
    serializable: true,
    keysOnly: rnd.chance(0.2),
    countOnly: rnd.chance(0.1),
    minModRevision: filter(),
    maxModRevision: filter(),
    minCreateRevision: filter(),
    maxCreateRevision: filter(),
  };
}

/** A read's outcome in comparable form: the result, or which of etcd's revision errors it was. */
function outcome(read: () => unknown): unknown {
  try {
    return read();
  } catch (err) {
    if (err instanceof MvccError && err.code === 'ErrCompacted') return 'compacted';
    if (err instanceof EtcdError && err.entry.name === 'ErrGRPCCompacted') return 'compacted';
    throw err;
  }
}

async function run(seed: number): Promise<void> {
  const rnd = new SeededRandom(seed);
  const store = await KvStore.open(MemoryBackend.open());
  const cache = new WatchCache({ windowRevisionsMax: 1 + rnd.int(30), windowBytesMax: rnd.chance(0.5) ? 4096 : 1 << 20 });
  cache.reset(store.currentRevision, []);
  let index = 0;
  for (let step = 0; step < 300; step++) {
    const roll = rnd.float();
    if (roll < 0.05 && store.currentRevision > 3) {
      const rev = store.currentRevision - rnd.int(3);
      if (rev > store.compactRevision) {
        await store.compact(rev);
        cache.compact(rev);
      }
      continue;
    }
    if (roll < 0.08) {
      // A proxy re-listing: everything at the current revision, the window gone.
      const all = store.range(enc('\0'), enc('\0'));
      cache.reset(store.currentRevision, all.kvs, store.compactRevision);
      continue;
    }
    // etcd refuses a txn that touches one key twice, so a write is puts on distinct keys or one delete.
    const w = await store.write({ consistentIndex: ++index, consistentTerm: 1 }, (t) => {
      if (rnd.chance(0.25)) {
        t.deleteRange(enc(rnd.pick(KEYS)), rnd.chance(0.3) ? enc(rnd.pick(KEYS)) : undefined);
        return;
      }
      const keys = new Set(Array.from({ length: 1 + rnd.int(3) }, () => rnd.pick(KEYS)));
      let i = 0;
      for (const key of keys) t.put(enc(key), enc(`v${step}.${i++}`), rnd.chance(0.2) ? { lease: 7 } : {});
    });
    if (w.events.length > 0) cache.apply(w.revision, w.events);
    expect(cache.revision).toBe(store.currentRevision);

    for (let q = 0; q < 4; q++) {
      const lowest = Math.max(cache.oldestRevision, 1);
      const rev = rnd.chance(0.3) ? 0 : lowest + rnd.int(cache.revision - lowest + 1);
      const req = request(rnd, rev);
      const expected = outcome(() => executeRange(store, req));
      const got = outcome(() => executeRange(cache, req));
      expect(got, `seed ${seed} step ${step} ${JSON.stringify({ ...req, key: Buffer.from(req.key).toString(), rangeEnd: Buffer.from(req.rangeEnd).toString() })}`).toEqual(expected);
    }
    const below = cache.oldestRevision - 1;
    if (below > cache.compactRevision) {
      expect(() => cache.range(enc('a'), undefined, { revision: below })).toThrow(CacheMissError);
    }
    expect(() => cache.range(enc('a'), undefined, { revision: cache.revision + 1 })).toThrow(CacheMissError);

    // The window's events after a revision are the store's history, prev_kv included.
    const after = cache.oldestRevision + rnd.int(Math.max(1, cache.revision - cache.oldestRevision));
    const batches = cache.eventsAfter(after);
    expect(batches).toBeDefined();
    if (after + 1 > store.compactRevision) {
      const history = store.history(after + 1, store.currentRevision, { prevKv: true });
      const fromCache = batches!.flatMap((b) => b.events);
      expect(fromCache.map(comparable), `seed ${seed} step ${step}`).toEqual(history.events.map(comparable));
    }
  }
}

/** Events with deletes reduced to what etcd sends (key and mod revision). */
function comparable(e: { type: string; kv: { key: Uint8Array; modRevision: number }; prevKv?: unknown }): unknown {
  const kv = e.type === 'put' ? e.kv : { key: e.kv.key, modRevision: e.kv.modRevision };
  return e.prevKv === undefined ? { type: e.type, kv } : { type: e.type, kv, prevKv: e.prevKv };
}

describe('watch cache against the MVCC store', () => {
  it('answers every Range variant and every watch like the store, across eviction, compaction and re-lists', async () => {
    for (let seed = 1; seed <= 20; seed++) await run(seed);
  });

  it('reports a revision outside its window as a miss, not as data', () => {
    const cache = new WatchCache({ windowRevisionsMax: 2 });
    cache.reset(10, [{ key: enc('k'), value: enc('v'), createRevision: 5, modRevision: 5, version: 1, lease: 0 }]);
    expect(cache.eventsAfter(9)).toBeUndefined();
    for (let rev = 11; rev <= 14; rev++) {
      cache.apply(rev, [{ type: 'put', kv: { key: enc('k'), value: enc(`v${rev}`), createRevision: 5, modRevision: rev, version: rev - 9, lease: 0 } }]);
    }
    expect(cache.oldestRevision).toBe(12);
    expect(cache.range(enc('k'), undefined, { revision: 12 }).kvs[0]!.modRevision).toBe(12);
    expect(() => cache.range(enc('k'), undefined, { revision: 11 })).toThrow(CacheMissError);
    expect(cache.eventsAfter(12)!.map((b) => b.revision)).toEqual([13, 14]);
    expect(cache.eventsAfter(11)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ keys: 1, windowRevisions: 2, windowEvents: 2 });
  });
});
