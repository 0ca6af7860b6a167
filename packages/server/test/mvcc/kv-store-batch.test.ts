import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { MemoryBackend } from '../../src/backend/memory-backend.js';
import { MvccError } from '../../src/mvcc/errors.js';
import { KvStore, type BatchWrite, type WriteResult } from '../../src/mvcc/kv-store.js';
import { type KvWriteTxn } from '../../src/mvcc/kv-write-txn.js';
import { k, rng, str } from './helpers.js';

const ci = (i: number) => ({ consistentIndex: i, consistentTerm: 1 });

/** A write callback of a random kind over a small key space: put, single delete, range delete, read-then-put. */
function randomWrite(random: () => number): (txn: KvWriteTxn) => unknown {
  const key = (n: number) => k(`key/${String(n).padStart(2, '0')}`);
  const a = Math.floor(random() * 20);
  const kind = random();
  const value = k(`v${Math.floor(random() * 1000)}`);
  if (kind < 0.5) return (t) => t.put(key(a), value);
  if (kind < 0.65) return (t) => t.deleteRange(key(a));
  if (kind < 0.75) return (t) => t.deleteRange(key(a), key(Math.min(20, a + 3)));
  if (kind < 0.85) return () => undefined;
  // A txn-like write: what it writes depends on what it reads (earlier writes of the batch included).
  return (t) => {
    const seen = t.range(k('key/'), k('key0'), {});
    t.put(key(a), k(`count=${seen.count} first=${seen.kvs[0] === undefined ? '-' : str(seen.kvs[0].key)}`));
    return seen.count;
  };
}

function summary(w: WriteResult<unknown>): unknown {
  return {
    revision: w.revision,
    result: w.result,
    events: w.events.map((e) => `${e.type} ${str(e.kv.key)}@${e.kv.modRevision} v${e.kv.version} prev=${e.prevKv === undefined ? '-' : `${str(e.prevKv.value)}@${e.prevKv.modRevision}`}`),
  };
}

/** A backend whose batch() calls are counted. */
function countingBackend(): { backend: Backend; commits: () => number } {
  const backend = MemoryBackend.open();
  let commits = 0;
  const batch = backend.batch.bind(backend);
  backend.batch = ((fn: Parameters<Backend['batch']>[0]) => {
    commits++;
    return batch(fn);
  }) as Backend['batch'];
  return { backend, commits: () => commits };
}

describe('KvStore.writeBatch', () => {
  it('gives the same results, events and state as the same writes one by one, in one commit per batch', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = rng(seed);
      const writes = Array.from({ length: 300 }, () => randomWrite(random));
      const single = await KvStore.open(MemoryBackend.open());
      const singleResults: unknown[] = [];
      for (const [i, fn] of writes.entries()) singleResults.push(summary(await single.write(ci(i + 1), fn)));

      const { backend, commits } = countingBackend();
      const batched = await KvStore.open(backend);
      const before = commits();
      const batchedResults: unknown[] = [];
      let batches = 0;
      for (let i = 0; i < writes.length; ) {
        const size = 1 + Math.floor(random() * 40);
        const items: BatchWrite<unknown>[] = writes.slice(i, i + size).map((fn, j) => ({ ci: ci(i + j + 1), fn }));
        const outcome = await batched.writeBatch(items, (_n, w) => batchedResults.push(summary(w)));
        expect(outcome.failed).toBeUndefined();
        expect(outcome.written).toHaveLength(items.length);
        i += items.length;
        batches++;
      }
      expect(batchedResults).toEqual(singleResults);
      expect(batched.currentRevision).toBe(single.currentRevision);
      expect(batched.consistentIndex).toEqual(single.consistentIndex);
      expect(batched.hashKV()).toEqual(single.hashKV());
      expect(commits() - before).toBe(batches);
      // The history a watcher would replay is the same too.
      expect(batched.history(2, batched.currentRevision, { prevKv: true })).toEqual(single.history(2, single.currentRevision, { prevKv: true }));
    }
  });

  it('publishes nothing until the commit, then each write in order as write() would resolve', async () => {
    const store = await KvStore.open(MemoryBackend.open());
    await store.write(ci(1), (t) => t.put(k('a'), k('0')));
    const seenByCallbacks: number[] = [];
    const published: string[] = [];
    const outcome = await store.writeBatch(
      [1, 2, 3].map((n) => ({
        ci: ci(n + 1),
        fn: (t: KvWriteTxn) => {
          // The store's readers still see the state before the batch.
          seenByCallbacks.push(store.currentRevision);
          t.put(k('a'), k(String(n)));
        },
      })),
      (i, w) => published.push(`${i}: rev ${w.revision}, store at ${store.currentRevision}, a=${str(store.range(k('a')).kvs[0]!.value)}`),
    );
    expect(seenByCallbacks).toEqual([2, 2, 2]);
    expect(published).toEqual(['0: rev 3, store at 3, a=1', '1: rev 4, store at 4, a=2', '2: rev 5, store at 5, a=3']);
    expect(outcome.written.map((w) => w.events[0]!.prevKv?.value).map((v) => (v === undefined ? '-' : str(v)))).toEqual(['0', '1', '2']);
  });

  it('stops at a callback that throws: the writes before it are made, it and the rest are not', async () => {
    const store = await KvStore.open(MemoryBackend.open());
    const boom = new Error('request refused');
    const outcome = await store.writeBatch([
      { ci: ci(1), fn: (t) => t.put(k('a'), k('1')) },
      { ci: ci(2), fn: (t) => (t.put(k('b'), k('2')), t.put(k('c'), k('2'))) },
      {
        ci: ci(3),
        fn: (t) => {
          t.put(k('d'), k('3'));
          throw boom;
        },
      },
      { ci: ci(4), fn: (t) => t.put(k('e'), k('4')) },
    ]);
    expect(outcome.failed?.error).toBe(boom);
    expect(outcome.written.map((w) => w.revision)).toEqual([2, 3]);
    expect(store.consistentIndex).toEqual(ci(2));
    expect(store.range(k('a'), k('z')).kvs.map((kv) => str(kv.key))).toEqual(['a', 'b', 'c']);
  });

  it('refuses a consistent index that goes backwards inside the batch, as write() does', async () => {
    const store = await KvStore.open(MemoryBackend.open());
    const outcome = await store.writeBatch([
      { ci: ci(5), fn: (t) => t.put(k('a'), k('1')) },
      { ci: ci(4), fn: (t) => t.put(k('b'), k('1')) },
    ]);
    expect(outcome.written).toHaveLength(1);
    expect(outcome.failed?.error).toBeInstanceOf(MvccError);
    expect((outcome.failed?.error as MvccError).code).toBe('ErrMvccInvalidArgument');
  });
});
