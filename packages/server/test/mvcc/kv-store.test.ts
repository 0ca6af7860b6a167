import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { LmdbBackend } from '../../src/backend/lmdb-backend.js';
import { MemoryBackend } from '../../src/backend/memory-backend.js';
import { MvccError, type MvccErrorCode } from '../../src/mvcc/errors.js';
import { decodeKeyValue, encodeKeyValue, type KeyValue } from '../../src/mvcc/kv-record.js';
import { KvStore } from '../../src/mvcc/kv-store.js';
import { encodeRevision } from '../../src/mvcc/revision.js';
import { useTempDirs } from '../backend/helpers.js';
import { b, k, rng, str } from './helpers.js';

const ci = (i: number, t = 1) => ({ consistentIndex: i, consistentTerm: t });

async function fresh(): Promise<{ backend: Backend; store: KvStore }> {
  const backend = MemoryBackend.open();
  return { backend, store: await KvStore.open(backend) };
}

/** One put per write call, consistent index = new revision. */
async function put(store: KvStore, key: string, value: string, lease?: number): Promise<number> {
  const w = await store.write(ci(store.consistentIndex.consistentIndex + 1), (t) =>
    t.put(k(key), k(value), lease === undefined ? {} : { lease }),
  );
  return w.revision;
}

async function del(store: KvStore, key: string, end?: string): Promise<number> {
  const w = await store.write(ci(store.consistentIndex.consistentIndex + 1), (t) => t.deleteRange(k(key), end === undefined ? undefined : k(end)));
  return w.revision;
}

function get(store: KvStore, key: string, revision?: number): KeyValue | undefined {
  return store.range(k(key), undefined, revision === undefined ? {} : { revision }).kvs[0];
}

/** Visible pairs as "key=value" strings. */
function pairs(kvs: KeyValue[]): string[] {
  return kvs.map((kv) => `${str(kv.key)}=${str(kv.value)}`);
}

function codeOf(f: () => unknown): { code: MvccErrorCode; message: string } {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MvccError);
    return { code: (e as MvccError).code, message: (e as MvccError).message };
  }
  throw new Error('expected an MvccError');
}

async function rejectCode(p: Promise<unknown>): Promise<{ code: MvccErrorCode; message: string }> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(MvccError);
    return { code: (e as MvccError).code, message: (e as MvccError).message };
  }
  throw new Error('expected a rejection');
}

function countBucket(backend: Backend, bucket: string): number {
  const v = backend.readTxn();
  try {
    return v.range(bucket).length;
  } finally {
    v.release();
  }
}

describe('kv record codec', () => {
  it('round-trips and validates', () => {
    const kv: KeyValue = { key: k('a'), createRevision: 3, modRevision: 2 ** 40, version: 7, value: k('vvv'), lease: 2 ** 53 - 1 };
    const enc = encodeKeyValue(kv);
    expect(decodeKeyValue(enc)).toEqual(kv);
    expect(codeOf(() => decodeKeyValue(enc.subarray(0, enc.length - 1))).code).toBe('ErrMvccCorrupt');
    expect(codeOf(() => decodeKeyValue(new Uint8Array([...enc, 0]))).code).toBe('ErrMvccCorrupt');
    const badFormat = enc.slice();
    badFormat[0] = 9;
    expect(codeOf(() => decodeKeyValue(badFormat)).code).toBe('ErrMvccCorrupt');
    const bigNumber = enc.slice();
    bigNumber[1] = 0xff;
    expect(codeOf(() => decodeKeyValue(bigNumber)).code).toBe('ErrMvccCorrupt');
    expect(codeOf(() => encodeKeyValue({ ...kv, key: new Uint8Array(0) })).code).toBe('ErrMvccInvalidArgument');
    expect(codeOf(() => encodeKeyValue({ ...kv, version: -1 })).code).toBe('ErrMvccInvalidArgument');
  });
});

describe('KvStore', () => {
  it('tracks versions and createRevision across delete and re-creation', async () => {
    const { store } = await fresh();
    expect(store.currentRevision).toBe(1);
    expect(await put(store, 'a', '1')).toBe(2);
    expect(await put(store, 'a', '2', 7)).toBe(3);
    expect(get(store, 'a')).toEqual({ key: k('a'), createRevision: 2, modRevision: 3, version: 2, value: k('2'), lease: 7 });
    expect(await del(store, 'a')).toBe(4);
    expect(get(store, 'a')).toBeUndefined();
    expect(await put(store, 'a', '3')).toBe(5);
    expect(get(store, 'a')).toMatchObject({ createRevision: 5, modRevision: 5, version: 1, lease: 0 });
    expect(get(store, 'a', 3)).toMatchObject({ createRevision: 2, version: 2, value: k('2') });
    expect(get(store, 'a', 4)).toBeUndefined();
  });

  it('gives one revision per write call, numbered by sub revision, with events', async () => {
    const { backend, store } = await fresh();
    await put(store, 'x', 'old');
    const w = await store.write(ci(2), (t) => {
      t.put(k('x'), k('new'));
      t.put(k('y'), k('1'));
      t.put(k('y'), k('2'));
      expect(pairs(t.range(k('a'), b(0)).kvs)).toEqual(['x=new', 'y=2']);
      expect(t.deleteRange(k('x'))).toBe(1);
      expect(t.range(k('x')).count).toBe(0);
      return 'done';
    });
    expect(w.revision).toBe(3);
    expect(w.result).toBe('done');
    expect(w.events.map((e) => [e.type, str(e.kv.key), e.kv.modRevision, e.prevKv === undefined ? '-' : str(e.prevKv.value)])).toEqual([
      ['put', 'x', 3, 'old'],
      ['put', 'y', 3, '-'],
      ['put', 'y', 3, '1'],
      ['delete', 'x', 3, 'new'],
    ]);
    expect(get(store, 'y')).toMatchObject({ createRevision: 3, modRevision: 3, version: 2, value: k('2') });
    expect(get(store, 'x')).toBeUndefined();
    expect(get(store, 'x', 2)).toMatchObject({ value: k('old') });
    const v = backend.readTxn();
    expect(v.get('key', encodeRevision({ main: 3, sub: 2 }))).toBeDefined();
    expect(v.get('key', encodeRevision({ main: 3, sub: 3 }, { tombstone: true }))).toBeDefined();
    v.release();
    expect(store.consistentIndex).toEqual(ci(2));
  });

  it('does not bump the revision for a write without changes, but records the consistent index', async () => {
    const { backend, store } = await fresh();
    await put(store, 'a', '1');
    const w = await store.write(ci(5, 2), (t) => {
      expect(t.deleteRange(k('missing'))).toBe(0);
      expect(t.deleteRange(k('b'), k('z'))).toBe(0);
    });
    expect(w).toMatchObject({ revision: 2, events: [] });
    expect(store.currentRevision).toBe(2);
    expect(store.consistentIndex).toEqual(ci(5, 2));
    expect((await KvStore.open(backend)).consistentIndex).toEqual(ci(5, 2));
    expect((await rejectCode(store.write(ci(4), () => undefined))).code).toBe('ErrMvccInvalidArgument');
  });

  it('queues concurrent writes and publishes each only once committed', async () => {
    const { store } = await fresh();
    const p1 = store.write(ci(1), (t) => t.put(k('a'), k('1')));
    const p2 = store.write(ci(2), (t) => t.put(k('a'), k('2')));
    const p3 = store.write(ci(3), (t) => t.range(k('a')).kvs.map((kv) => str(kv.value)));
    // Nothing is visible before the batches commit.
    expect(store.range(k('a')).count).toBe(0);
    expect(store.currentRevision).toBe(1);
    const [w1, w2, w3] = await Promise.all([p1, p2, p3]);
    expect([w1.revision, w2.revision, w3.revision]).toEqual([2, 3, 3]);
    expect(w3.result).toEqual(['2']);
    expect(get(store, 'a')).toMatchObject({ version: 2, createRevision: 2 });
  });

  it('deletes a range', async () => {
    const { store } = await fresh();
    for (const key of ['a', 'b', 'c', 'd']) await put(store, key, key);
    const w = await store.write(ci(9), (t) => t.deleteRange(k('b'), k('d')));
    expect(w.result).toBe(2);
    expect(w.events.map((e) => [e.type, str(e.kv.key), e.kv.modRevision])).toEqual([
      ['delete', 'b', 6],
      ['delete', 'c', 6],
    ]);
    expect(pairs(store.range(k('a'), b(0)).kvs)).toEqual(['a=a', 'd=d']);
    expect(pairs(store.range(k('a'), b(0), { revision: 5 }).kvs)).toEqual(['a=a', 'b=b', 'c=c', 'd=d']);
  });

  it('reads at past revisions with limit, count, more, countOnly and keysOnly', async () => {
    const { store } = await fresh();
    for (const key of ['a', 'b', 'c', 'd', 'e']) await put(store, key, `${key}1`);
    await put(store, 'c', 'c2');
    await del(store, 'a');
    const r = store.range(k('a'), k('e'), { limit: 2 });
    expect(pairs(r.kvs)).toEqual(['b=b1', 'c=c2']);
    expect(r).toMatchObject({ count: 3, more: true, revision: 8 });
    const past = store.range(k('a'), k('e'), { revision: 4, limit: 2 });
    expect(pairs(past.kvs)).toEqual(['a=a1', 'b=b1']);
    expect(past).toMatchObject({ count: 3, more: true, revision: 8 });
    expect(store.range(k('a'), k('e'), { revision: 4, limit: 3 })).toMatchObject({ count: 3, more: false });
    expect(store.range(k('a'), b(0), { countOnly: true })).toEqual({ kvs: [], count: 4, more: false, revision: 8 });
    const keys = store.range(k('a'), b(0), { keysOnly: true, revision: 6 });
    expect(keys.kvs.map((kv) => [str(kv.key), kv.value.length, kv.modRevision])).toEqual([
      ['a', 0, 2],
      ['b', 0, 3],
      ['c', 0, 4],
      ['d', 0, 5],
      ['e', 0, 6],
    ]);
    expect(pairs(store.range(k('c'), undefined, { revision: 6 }).kvs)).toEqual(['c=c1']);
  });

  it('rejects future and compacted revisions with etcd codes and messages', async () => {
    const { store } = await fresh();
    for (let i = 0; i < 5; i++) await put(store, 'a', String(i));
    expect(codeOf(() => store.range(k('a'), undefined, { revision: 7 }))).toEqual({
      code: 'ErrFutureRev',
      message: 'mvcc: required revision is a future revision',
    });
    await store.compact(4);
    expect(codeOf(() => store.range(k('a'), undefined, { revision: 3 }))).toEqual({
      code: 'ErrCompacted',
      message: 'mvcc: required revision has been compacted',
    });
    expect(codeOf(() => store.hashKV(3)).code).toBe('ErrCompacted');
    expect(codeOf(() => store.hashKV(10)).code).toBe('ErrFutureRev');
    expect(await rejectCode(store.compact(4))).toEqual({ code: 'ErrCompacted', message: 'mvcc: required revision has been compacted' });
    expect(await rejectCode(store.compact(3))).toMatchObject({ code: 'ErrCompacted' });
    expect(await rejectCode(store.compact(7))).toEqual({ code: 'ErrFutureRev', message: 'mvcc: required revision is a future revision' });
    // Still usable after rejected compactions.
    await store.compact(6);
    expect(store.compactRevision).toBe(6);
  });

  it('compacts: keeps what is visible at rev, physically deletes the rest', async () => {
    const { backend, store } = await fresh();
    await put(store, 'a', 'a1'); // 2
    await put(store, 'a', 'a2'); // 3
    await put(store, 'b', 'b1'); // 4
    await del(store, 'b'); // 5
    await put(store, 'c', 'c1'); // 6
    await put(store, 'a', 'a3'); // 7
    await put(store, 'c', 'c2'); // 8
    const at6 = store.range(k('a'), b(0), { revision: 6 });
    const at7 = store.range(k('a'), b(0), { revision: 7 });
    expect(countBucket(backend, 'key')).toBe(7);
    await store.compact(6);
    // Kept: a@3 and c@6 (visible at 6), plus everything after 6.
    expect(countBucket(backend, 'key')).toBe(4);
    expect(store.range(k('a'), b(0), { revision: 6 })).toEqual(at6);
    expect(store.range(k('a'), b(0), { revision: 7 })).toEqual(at7);
    expect(pairs(at6.kvs)).toEqual(['a=a2', 'c=c1']);
    expect(get(store, 'a')).toMatchObject({ createRevision: 2, version: 3, value: k('a3') });
    expect(codeOf(() => store.range(k('a'), b(0), { revision: 5 })).code).toBe('ErrCompacted');
    // A put after compaction still continues the key's generation.
    await put(store, 'a', 'a4');
    expect(get(store, 'a')).toMatchObject({ createRevision: 2, version: 4 });
    await store.compact(9);
    expect(countBucket(backend, 'key')).toBe(2);
    const v = backend.readTxn();
    expect(v.get('meta', k('finishedCompactRev'))).toEqual(b(0, 0, 0, 0, 0, 0, 0, 9));
    expect(v.get('meta', k('scheduledCompactRev'))).toEqual(b(0, 0, 0, 0, 0, 0, 0, 9));
    v.release();
  });

  it('compacts in bounded batches over many records', async () => {
    const { backend, store } = await fresh();
    // 2500 changes of 50 keys: deletions span three batches.
    for (let i = 0; i < 50; i++) {
      await store.write(ci(i + 1), (t) => {
        for (let j = 0; j < 50; j++) t.put(k(`key${j}`), k(`v${i}`));
      });
    }
    let batches = 0;
    const counting: Backend = new Proxy(backend, {
      get(target, prop, receiver) {
        if (prop === 'batch') {
          return (fn: Parameters<Backend['batch']>[0]) => {
            batches++;
            return target.batch(fn);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const s2 = await KvStore.open(counting);
    await s2.compact(51);
    // schedule + 3 deletion pages (1000, 1000, 500) + finish.
    expect(batches).toBe(5);
    expect(countBucket(backend, 'key')).toBe(50);
    expect(pairs(s2.range(k('key0'), k('key1'), { revision: 51 }).kvs)).toEqual(['key0=v49']);
    expect(store.currentRevision).toBe(51);
  });

  it('leaves nothing behind when the write callback throws', async () => {
    const { backend, store } = await fresh();
    await put(store, 'a', '1');
    const hash = store.hashKV();
    const backendHash = await backend.hash();
    await expect(
      store.write(ci(2), (t) => {
        t.put(k('a'), k('2'));
        t.put(k('b'), k('2'));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(store.currentRevision).toBe(2);
    expect(store.consistentIndex).toEqual(ci(1));
    expect(store.hashKV()).toEqual(hash);
    expect(await backend.hash()).toBe(backendHash);
    expect(pairs(store.range(k('a'), b(0)).kvs)).toEqual(['a=1']);
    // An async callback is refused before anything is written.
    expect((await rejectCode(store.write(ci(2), async (t) => t.put(k('c'), k('1'))))).code).toBe('ErrMvccInvalidArgument');
    expect(store.currentRevision).toBe(2);
    // The queue continues after failures.
    expect(await put(store, 'c', '1')).toBe(3);
    // A transaction object is dead after its callback.
    let leaked: { put(key: Uint8Array, value: Uint8Array): void } | undefined;
    await store.write(ci(3), (t) => {
      leaked = t;
    });
    expect(codeOf(() => leaked!.put(k('z'), k('z'))).code).toBe('ErrMvccInvalidArgument');
  });

  it('reopens to the same state', async () => {
    const { backend, store } = await fresh();
    await put(store, 'a', '1');
    await put(store, 'b', '1');
    await put(store, 'a', '2');
    await del(store, 'b');
    await put(store, 'c', '1');
    await store.compact(4);
    await del(store, 'c'); // the newest record is a tombstone
    const reopened = await KvStore.open(backend);
    expect(reopened.currentRevision).toBe(7);
    expect(reopened.compactRevision).toBe(4);
    expect(reopened.consistentIndex).toEqual(store.consistentIndex);
    expect(reopened.hashKV()).toEqual(store.hashKV());
    for (const rev of [4, 5, 6, 7]) {
      expect(reopened.range(k('a'), b(0), { revision: rev })).toEqual(store.range(k('a'), b(0), { revision: rev }));
    }
    expect(get(reopened, 'a')).toMatchObject({ createRevision: 2, version: 2 });
    // Compaction deletes everything; the revision must not go back on reopen.
    await reopened.compact(7);
    await reopened.write(ci(99), (t) => t.deleteRange(k('a')));
    await reopened.compact(8);
    expect(countBucket(backend, 'key')).toBe(0);
    const again = await KvStore.open(backend);
    expect(again.currentRevision).toBe(8);
    expect(again.compactRevision).toBe(8);
    expect(await put(again, 'a', 'new')).toBe(9);
    expect(get(again, 'a')).toMatchObject({ createRevision: 9, version: 1 });
  });

  it('finishes an interrupted compaction on open', async () => {
    const { backend, store } = await fresh();
    await put(store, 'a', '1');
    await put(store, 'a', '2');
    await put(store, 'b', '1');
    await del(store, 'b');
    await put(store, 'a', '3');
    // Simulate a crash after scheduling compaction at 5 and deleting only the first record.
    await backend.batch((t) => {
      t.put('meta', k('scheduledCompactRev'), b(0, 0, 0, 0, 0, 0, 0, 5));
      t.delete('key', encodeRevision({ main: 2, sub: 0 }));
    });
    const reopened = await KvStore.open(backend);
    expect(reopened.compactRevision).toBe(5);
    expect(countBucket(backend, 'key')).toBe(2); // a@3 (visible at 5) and a@6
    expect(pairs(reopened.range(k('a'), b(0), { revision: 5 }).kvs)).toEqual(['a=2']);
    expect(get(reopened, 'a')).toMatchObject({ createRevision: 2, version: 3, value: k('3') });
  });

  it('hashKV agrees for equal histories and differs for divergent ones', async () => {
    const one = await fresh();
    const two = await fresh();
    // Empty store: only the compact revision (a u64 0) is hashed.
    expect(one.store.hashKV()).toEqual({ hash: crc32(new Uint8Array(8)), compactRevision: 0, revision: 1 });
    for (const s of [one.store, two.store]) {
      await put(s, 'a', '1');
      await put(s, 'b', '1');
      await del(s, 'a');
      await put(s, 'c', '1');
    }
    expect(one.store.hashKV()).toEqual(two.store.hashKV());
    expect(one.store.hashKV(3)).toEqual(two.store.hashKV(3));
    expect(one.store.hashKV().revision).toBe(5);
    await one.store.compact(3);
    await two.store.compact(3);
    expect(one.store.hashKV()).toEqual(two.store.hashKV());
    expect(one.store.hashKV().compactRevision).toBe(3);
    await put(one.store, 'd', 'x');
    await put(two.store, 'd', 'y');
    expect(one.store.hashKV().hash).not.toBe(two.store.hashKV().hash);
    // The divergence is above revision 5, so the hash up to 5 still agrees.
    expect(one.store.hashKV(5)).toEqual(two.store.hashKV(5));
  });

  describe('on LMDB', () => {
    const tempDir = useTempDirs();
    it('persists writes, consistent index and compaction across close and reopen', async () => {
      const path = join(await tempDir(), 'db');
      const first = LmdbBackend.open({ path });
      const store = await KvStore.open(first);
      await put(store, 'a', '1');
      await store.write(ci(10, 3), (t) => {
        t.put(k('b'), k('1'), { lease: 5 });
        t.put(k('a'), k('2'));
      });
      await del(store, 'a');
      await store.compact(3);
      await store.write(ci(20, 4), () => undefined);
      const hash = store.hashKV();
      const at3 = store.range(k('a'), b(0), { revision: 3 });
      const now = store.range(k('a'), b(0));
      await first.close();

      const second = LmdbBackend.open({ path });
      try {
        const again = await KvStore.open(second);
        expect(again.consistentIndex).toEqual(ci(20, 4));
        expect(again.currentRevision).toBe(4);
        expect(again.compactRevision).toBe(3);
        expect(again.hashKV()).toEqual(hash);
        expect(again.range(k('a'), b(0), { revision: 3 })).toEqual(at3);
        expect(again.range(k('a'), b(0))).toEqual(now);
        expect(pairs(at3.kvs)).toEqual(['a=2', 'b=1']);
        expect(get(again, 'b')).toMatchObject({ lease: 5, createRevision: 3 });
      } finally {
        await second.close();
      }
    });
  });

  it('matches a naive full-history model at random past revisions (seeded)', async () => {
    for (const seed of [1, 2, 3]) {
      const random = rng(seed);
      const { backend, store } = await fresh();
      const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
      // model[rev] = the full state (key -> kv) after revision rev; the store starts empty at revision 1.
      const model: Map<string, KeyValue>[] = [new Map(), new Map()];
      let index = 0;
      for (let step = 0; step < 150; step++) {
        if (random() < 0.08 && store.currentRevision > store.compactRevision) {
          const rev = store.compactRevision + 1 + Math.floor(random() * (store.currentRevision - store.compactRevision));
          await store.compact(rev);
          continue;
        }
        const state = new Map(model[model.length - 1]!);
        const nextRev = store.currentRevision + 1;
        let changed = false;
        const ops = 1 + Math.floor(random() * 3);
        const w = await store.write(ci(++index), (t) => {
          for (let o = 0; o < ops; o++) {
            const key = keys[Math.floor(random() * keys.length)]!;
            if (random() < 0.7) {
              const value = `${key}${String(step)}.${String(o)}`;
              t.put(k(key), k(value));
              const prev = state.get(key);
              state.set(key, {
                key: k(key),
                value: k(value),
                createRevision: prev?.createRevision ?? nextRev,
                modRevision: nextRev,
                version: (prev?.version ?? 0) + 1,
                lease: 0,
              });
              changed = true;
            } else {
              const end = random() < 0.5 ? undefined : keys[Math.min(keys.length - 1, keys.indexOf(key) + 2)]!;
              t.deleteRange(k(key), end === undefined ? undefined : k(end));
              for (const mk of [...state.keys()]) {
                if (end === undefined ? mk === key : mk >= key && mk < end) {
                  state.delete(mk);
                  changed = true;
                }
              }
            }
          }
        });
        expect(w.revision).toBe(changed ? nextRev : nextRev - 1);
        if (changed) model.push(state);
        if (random() < 0.1) {
          const reopened = await KvStore.open(backend);
          expect(reopened.hashKV()).toEqual(store.hashKV());
        }
        for (let q = 0; q < 3; q++) {
          const lo = store.compactRevision === 0 ? 1 : store.compactRevision;
          if (store.currentRevision < lo) break;
          const rev = lo + Math.floor(random() * (store.currentRevision - lo + 1));
          const expected = [...model[rev]!.values()].sort((x, y) => (str(x.key) < str(y.key) ? -1 : 1));
          const limit = Math.floor(random() * 4);
          const got = store.range(k('a'), b(0), { revision: rev, limit });
          expect(got.kvs).toEqual(limit === 0 ? expected : expected.slice(0, limit));
          expect(got.count).toBe(expected.length);
          expect(got.more).toBe(limit > 0 && expected.length > limit);
        }
      }
      const reopened = await KvStore.open(backend);
      expect(reopened.range(k('a'), b(0))).toEqual(store.range(k('a'), b(0)));
    }
  });
});
