import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { LmdbBackend } from '../../src/backend/lmdb-backend.js';
import { MemoryBackend } from '../../src/backend/memory-backend.js';
import { MvccError } from '../../src/mvcc/errors.js';
import { KvStore } from '../../src/mvcc/kv-store.js';
import { type KvWriteTxn } from '../../src/mvcc/kv-write-txn.js';
import { useTempDirs } from '../backend/helpers.js';
import { k, str } from './helpers.js';

const ci = (i: number, t = 1) => ({ consistentIndex: i, consistentTerm: t });

function auxPairs(backend: Backend, bucket: string): string[] {
  const v = backend.readTxn();
  try {
    return v.range(bucket).map((p) => `${str(p.key)}=${str(p.value)}`);
  } finally {
    v.release();
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('KvStore aux writes', () => {
  it('commits aux writes with the KV changes and the consistent index', async () => {
    const backend = MemoryBackend.open();
    const store = await KvStore.open(backend);
    const w = await store.write(ci(3), (t) => {
      t.put(k('a'), k('1'));
      t.putAux('lease', k('x'), k('10'));
      t.putAux('lease', k('y'), k('20'));
      t.deleteAux('lease', k('y'));
    });
    expect(w.revision).toBe(2);
    expect(auxPairs(backend, 'lease')).toEqual(['x=10']);
    expect(store.consistentIndex).toEqual(ci(3));
  });

  it('does not bump the revision for an aux-only write, but stores the consistent index', async () => {
    const backend = MemoryBackend.open();
    const store = await KvStore.open(backend);
    await store.write(ci(1), (t) => t.put(k('a'), k('1')));
    const hash = store.hashKV();
    const w = await store.write(ci(2), (t) => t.putAux('lease', k('x'), k('1')));
    expect(w.revision).toBe(2);
    expect(w.events).toEqual([]);
    expect(store.currentRevision).toBe(2);
    expect(store.consistentIndex).toEqual(ci(2));
    expect(store.hashKV()).toEqual(hash);
    const reopened = await KvStore.open(backend);
    expect(reopened.currentRevision).toBe(2);
    expect(reopened.consistentIndex).toEqual(ci(2));
  });

  it('writes nothing, and runs no commit hook, when the callback throws', async () => {
    const backend = MemoryBackend.open();
    const store = await KvStore.open(backend);
    await store.write(ci(1), (t) => t.putAux('lease', k('x'), k('old')));
    const hooks: string[] = [];
    const boom = new Error('boom');
    const e = await rejection(
      store.write(ci(2), (t) => {
        t.put(k('a'), k('1'));
        t.putAux('lease', k('x'), k('new'));
        t.putAux('lease', k('y'), k('1'));
        t.onCommit(() => hooks.push('ran'));
        throw boom;
      }),
    );
    expect(e).toBe(boom);
    expect(hooks).toEqual([]);
    expect(auxPairs(backend, 'lease')).toEqual(['x=old']);
    expect(store.currentRevision).toBe(1);
    expect(store.consistentIndex).toEqual(ci(1));
  });

  it('runs commit hooks in order after the write is visible, before write resolves', async () => {
    const backend = MemoryBackend.open();
    const store = await KvStore.open(backend);
    const seen: string[] = [];
    const done = store.write(ci(1), (t) => {
      t.put(k('a'), k('1'));
      t.onCommit(() => seen.push(`first rev=${String(store.currentRevision)} ci=${String(store.consistentIndex.consistentIndex)}`));
      t.onCommit(() => seen.push(`second aux=${auxPairs(backend, 'lease').join(',')}`));
      t.putAux('lease', k('x'), k('1'));
    });
    expect(seen).toEqual([]);
    await done;
    expect(seen).toEqual(['first rev=2 ci=1', 'second aux=x=1']);
  });

  it('refuses the store buckets and malformed aux writes, writing nothing', async () => {
    const backend = MemoryBackend.open();
    const store = await KvStore.open(backend);
    for (const bad of [
      (t: KvWriteTxn) => t.putAux('key', k('x'), k('1')),
      (t: KvWriteTxn) => t.deleteAux('meta', k('x')),
      (t: KvWriteTxn) => t.putAux('', k('x'), k('1')),
      (t: KvWriteTxn) => t.putAux('lease', new Uint8Array(0), k('1')),
      (t: KvWriteTxn) => t.putAux('lease', k('x'), 'v' as unknown as Uint8Array),
    ]) {
      const e = await rejection(
        store.write(ci(1), (t) => {
          t.put(k('a'), k('1'));
          bad(t);
        }),
      );
      expect(e).toBeInstanceOf(MvccError);
      expect((e as MvccError).code).toBe('ErrMvccInvalidArgument');
    }
    expect(store.currentRevision).toBe(1);
    expect(auxPairs(backend, 'lease')).toEqual([]);
  });

  it('copies aux keys and values at call time', async () => {
    const backend = MemoryBackend.open();
    const store = await KvStore.open(backend);
    const key = k('x');
    const value = k('1');
    await store.write(ci(1), (t) => {
      t.putAux('lease', key, value);
      key[0] = 'z'.charCodeAt(0);
      value[0] = '9'.charCodeAt(0);
    });
    expect(auxPairs(backend, 'lease')).toEqual(['x=1']);
  });

  it('rejects use of the txn after the callback returned', async () => {
    const store = await KvStore.open(MemoryBackend.open());
    let saved: KvWriteTxn | undefined;
    await store.write(ci(1), (t) => {
      saved = t;
    });
    expect(() => saved!.putAux('lease', k('x'), k('1'))).toThrow(MvccError);
    expect(() => saved!.onCommit(() => undefined)).toThrow(MvccError);
  });

  describe('persistence across reopen', () => {
    const tempDir = useTempDirs();

    it('on memory (same backend, new store)', async () => {
      const backend = MemoryBackend.open();
      const store = await KvStore.open(backend);
      await store.write(ci(5, 2), (t) => {
        t.put(k('a'), k('1'), { lease: 7 });
        t.putAux('lease', k('7'), k('record'));
      });
      const again = await KvStore.open(backend);
      expect(again.consistentIndex).toEqual(ci(5, 2));
      expect(again.currentRevision).toBe(2);
      expect(auxPairs(backend, 'lease')).toEqual(['7=record']);
      await backend.close();
    });

    it('on LMDB (closed and reopened)', async () => {
      const path = join(await tempDir(), 'db');
      const first = LmdbBackend.open({ path });
      const store = await KvStore.open(first);
      await store.write(ci(5, 2), (t) => {
        t.put(k('a'), k('1'), { lease: 7 });
        t.putAux('lease', k('7'), k('record'));
        t.putAux('lease', k('8'), k('gone'));
      });
      await store.write(ci(6, 2), (t) => t.deleteAux('lease', k('8')));
      await rejection(
        store.write(ci(7, 2), (t) => {
          t.putAux('lease', k('9'), k('never'));
          throw new Error('abort');
        }),
      );
      await first.close();

      const second = LmdbBackend.open({ path });
      try {
        const again = await KvStore.open(second);
        expect(again.consistentIndex).toEqual(ci(6, 2));
        expect(again.currentRevision).toBe(2);
        expect(auxPairs(second, 'lease')).toEqual(['7=record']);
      } finally {
        await second.close();
      }
    });
  });
});
