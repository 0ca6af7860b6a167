import { describe, expect, it } from 'vitest';
import { EtcdError } from '../../src/etcd-errors.js';
import { compareKeys, inRange } from '../../src/keys.js';
import type { KeyValue } from '../../src/kv/key-value.js';
import type { KvEvent } from '../../src/kv/kv-event.js';
import { SeededRandom } from '../../src/random.js';
import { CacheMissError, WatchCache } from '../../src/watchcache/watch-cache.js';

const k = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const str = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const FROM_KEY = Uint8Array.of(0);
const shown = (kvs: readonly KeyValue[]): string[] => kvs.map((kv) => `${str(kv.key)}=${str(kv.value)}@${kv.modRevision}/${kv.createRevision}/${kv.version}`);

/** The keyspace at every revision, as a member's store would answer it. */
class Model {
  readonly states = new Map<number, Map<string, KeyValue>>();
  current = 0;

  constructor(revision: number, kvs: readonly KeyValue[]) {
    this.current = revision;
    this.states.set(revision, new Map(kvs.map((kv) => [str(kv.key), kv])));
  }

  /** One revision's events, made from `ops` against the current state. */
  next(ops: readonly { key: string; del: boolean; value: string }[]): { revision: number; events: KvEvent[] } {
    const rev = this.current + 1;
    const state = new Map(this.states.get(this.current)!);
    const events: KvEvent[] = [];
    for (const op of ops) {
      const prev = state.get(op.key);
      if (op.del) {
        if (prev === undefined) continue;
        state.delete(op.key);
        events.push({ type: 'delete', kv: { key: k(op.key), value: new Uint8Array(0), createRevision: 0, modRevision: rev, version: 0, lease: 0 } });
      } else {
        const kv = { key: k(op.key), value: k(op.value), createRevision: prev?.createRevision ?? rev, modRevision: rev, version: (prev?.version ?? 0) + 1, lease: 0 };
        state.set(op.key, kv);
        events.push({ type: 'put', kv });
      }
    }
    if (events.length > 0) {
      this.current = rev;
      this.states.set(rev, state);
    }
    return { revision: rev, events };
  }

  range(key: Uint8Array, end: Uint8Array | undefined, rev: number): string[] {
    const state = this.states.get(rev)!;
    return shown([...state.values()].filter((kv) => inRange(kv.key, key, end ?? new Uint8Array(0))).sort((a, b) => compareKeys(a.key, b.key)));
  }
}

describe('WatchCache (core)', () => {
  it('answers a range at every revision of its window as the store would, and misses outside it', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = new SeededRandom(seed);
      const keys = ['a', 'a/1', 'a/2', 'b', 'c', 'c/x', 'd'];
      const listed: KeyValue[] = [{ key: k('a'), value: k('init'), createRevision: 3, modRevision: 7, version: 2, lease: 0 }];
      const model = new Model(10, listed);
      const windowMax = 5 + rnd.int(20);
      const cache = new WatchCache({ windowRevisionsMax: windowMax });
      cache.reset(10, listed);
      for (let step = 0; step < 200; step++) {
        const ops = Array.from({ length: 1 + rnd.int(3) }, () => ({ key: rnd.pick(keys), del: rnd.chance(0.3), value: `${step}` }));
        const unique = ops.filter((o, i) => ops.findIndex((p) => p.key === o.key) === i);
        const { revision, events } = model.next(unique);
        if (events.length === 0) continue;
        const applied = cache.apply(revision, events);
        // prev_kv comes from the cache's own history: the key's value just before.
        for (const e of applied.events) {
          const before = model.states.get(revision - 1)!.get(str(e.kv.key));
          expect(e.prevKv === undefined ? undefined : shown([e.prevKv])[0]).toEqual(before === undefined ? undefined : shown([before])[0]);
        }
        expect(cache.revision).toBe(model.current);
        expect(cache.oldestRevision).toBeGreaterThanOrEqual(10);
        // Every revision in the window, over a few ranges.
        for (let i = 0; i < 3; i++) {
          const rev = cache.oldestRevision + rnd.int(cache.revision - cache.oldestRevision + 1);
          const at = [...model.states.keys()].filter((r) => r <= rev).reduce((a, b) => Math.max(a, b));
          const key = rnd.pick(keys);
          const end = rnd.pick([undefined, k(`${key}\xff`), FROM_KEY]);
          const got = cache.range(k(key), end, { revision: rev });
          expect(shown(got.kvs), `seed ${seed} step ${step} range ${key} at ${rev}`).toEqual(model.range(k(key), end, at));
          expect(got.count).toBe(got.kvs.length);
        }
        if (cache.oldestRevision > 10) {
          expect(() => cache.range(k('a'), FROM_KEY, { revision: cache.oldestRevision - 1 })).toThrow(CacheMissError);
        }
        expect(() => cache.range(k('a'), undefined, { revision: cache.revision + 1 })).toThrow(CacheMissError);
      }
      expect(cache.stats().windowRevisions).toBeLessThanOrEqual(windowMax);
    }
  });

  it('hands out the window after a revision, whole revisions in order, and undefined once they left it', () => {
    const cache = new WatchCache({ windowRevisionsMax: 3 });
    cache.reset(1, []);
    const put = (rev: number, key: string): void => {
      cache.apply(rev, [{ type: 'put', kv: { key: k(key), value: k(`${rev}`), createRevision: rev, modRevision: rev, version: 1, lease: 0 } }]);
    };
    put(2, 'a');
    put(3, 'b');
    expect(cache.eventsAfter(1)!.map((r) => r.revision)).toEqual([2, 3]);
    expect(cache.eventsAfter(2, 1)!.map((r) => r.revision)).toEqual([3]);
    expect(cache.eventsAfter(3)).toEqual([]);
    put(5, 'c');
    put(6, 'd');
    // Revision 2 left the window: the state at 2 is still answerable, nothing before it.
    expect(cache.oldestRevision).toBe(2);
    expect(cache.eventsAfter(1)).toBeUndefined();
    expect(cache.eventsAfter(2)!.map((r) => r.revision)).toEqual([3, 5, 6]);
  });

  it('refuses reads below a compaction it learned of with etcd\'s compacted error, and bad revisions', () => {
    const cache = new WatchCache();
    cache.reset(10, [{ key: k('a'), value: k('1'), createRevision: 2, modRevision: 5, version: 1, lease: 0 }], 4);
    expect(() => cache.range(k('a'), undefined, { revision: 3 })).toThrow(EtcdError);
    expect(shown(cache.range(k('a'), undefined, { revision: 10 }).kvs)).toEqual(['a=1@5/2/1']);
    expect(() => cache.apply(10, [])).toThrow(RangeError);
    expect(() => cache.apply(11, [{ type: 'put', kv: { key: k('a'), value: k('2'), createRevision: 2, modRevision: 12, version: 2, lease: 0 } }])).toThrow(RangeError);
  });
});
