/**
 * History from exactly the compact revision C: served (as etcd serves a watch from C) when the
 * compaction kept every change made at C, refused with ErrCompacted when it dropped one (a
 * delete at C: key-index.ts rule 1). The answer is decided before anything is deleted and kept
 * in bucket `meta`, so it survives reopening and an interrupted compaction.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { LmdbBackend } from '../../src/backend/lmdb-backend.js';
import { MemoryBackend } from '../../src/backend/memory-backend.js';
import { MvccError } from '../../src/mvcc/errors.js';
import { type KvEvent, KvStore } from '../../src/mvcc/kv-store.js';
import { type KvWriteTxn } from '../../src/mvcc/kv-write-txn.js';
import { encodeRevision } from '../../src/mvcc/revision.js';
import { useTempDirs } from '../backend/helpers.js';
import { b, k, rng, str } from './helpers.js';

async function write(store: KvStore, fn: (t: KvWriteTxn) => void): Promise<{ revision: number; events: KvEvent[] }> {
  return store.write({ consistentIndex: store.consistentIndex.consistentIndex + 1, consistentTerm: 1 }, fn);
}

function show(events: readonly KvEvent[]): string[] {
  return events.map((e) => `${e.type} ${str(e.kv.key)}@${String(e.kv.modRevision)}${e.type === 'put' ? `=${str(e.kv.value)}` : ''}`);
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MvccError);
    return (e as MvccError).code;
  }
  throw new Error('expected an MvccError');
}

function meta(backend: Backend, name: string): Uint8Array | undefined {
  const v = backend.readTxn();
  try {
    return v.get('meta', k(name));
  } finally {
    v.release();
  }
}

const u64 = (n: number) => b(0, 0, 0, 0, 0, 0, 0, n);

/**
 * a@2, b@3, then revision 4 (`atC`), then c@5. Compacted at 4 when `compact` is set.
 * Returns the store and the events of revisions 4 and 5 as written.
 */
async function build(backend: Backend, atC: (t: KvWriteTxn) => void, compact = true): Promise<{ store: KvStore; events: string[] }> {
  const store = await KvStore.open(backend);
  await write(store, (t) => t.put(k('a'), k('1'))); // 2
  await write(store, (t) => t.put(k('b'), k('1'))); // 3
  const four = await write(store, atC);
  expect(four.revision).toBe(4);
  const five = await write(store, (t) => t.put(k('c'), k('1')));
  if (compact) await store.compact(4);
  return { store, events: show([...four.events, ...five.events]) };
}

const putAtC = (t: KvWriteTxn) => {
  t.put(k('a'), k('2'));
  t.put(k('d'), k('1'));
};
const deleteAtC = (t: KvWriteTxn) => {
  t.put(k('d'), k('1'));
  t.deleteRange(k('b'));
};

function expectServedFromC(store: KvStore, events: string[]): void {
  expect(store.compactRevision).toBe(4);
  expect(store.firstHistoryRevision).toBe(4);
  expect(show(store.history(4, 5).events)).toEqual(events);
  expect(code(() => store.history(3, 5))).toBe('ErrCompacted');
  // Revision 3 is compacted: events at C carry no prevKv (etcd's read at C - 1 fails too).
  expect(store.history(4, 5, { prevKv: true }).events.every((e) => e.prevKv === undefined)).toBe(true);
}

function expectRefusedAtC(store: KvStore): void {
  expect(store.compactRevision).toBe(4);
  expect(store.firstHistoryRevision).toBe(5);
  expect(code(() => store.history(4, 5))).toBe('ErrCompacted');
  expect(show(store.history(5, 5).events)).toEqual(['put c@5=1']);
}

describe('KvStore.history from exactly the compact revision', () => {
  it('serves it when revision C only put keys', async () => {
    const backend = MemoryBackend.open();
    const { store, events } = await build(backend, putAtC);
    expect(events).toEqual(['put a@4=2', 'put d@4=1', 'put c@5=1']);
    expectServedFromC(store, events);
    expect(meta(backend, 'replayableCompactRev')).toEqual(u64(4));
  });

  it('refuses it when revision C deleted a key (the tombstone is compacted away)', async () => {
    const backend = MemoryBackend.open();
    const { store, events } = await build(backend, deleteAtC);
    // Before compaction the delete is in history; compaction drops it.
    expect(events).toEqual(['put d@4=1', 'delete b@4', 'put c@5=1']);
    expectRefusedAtC(store);
    expect(meta(backend, 'replayableCompactRev')).toEqual(u64(0));
  });

  it('refuses it when revision C changed a key twice (compaction keeps only the last change)', async () => {
    const backend = MemoryBackend.open();
    const { store, events } = await build(backend, (t) => {
      t.put(k('d'), k('1'));
      t.put(k('d'), k('2'));
    });
    expect(events).toEqual(['put d@4=1', 'put d@4=2', 'put c@5=1']);
    expectRefusedAtC(store);
  });

  it('follows the latest compaction: each compaction decides for its own revision', async () => {
    const backend = MemoryBackend.open();
    const { store } = await build(backend, deleteAtC);
    expect(store.firstHistoryRevision).toBe(5);
    await store.compact(5); // revision 5 was a put
    expect(store.firstHistoryRevision).toBe(5);
    expect(show(store.history(5, 5).events)).toEqual(['put c@5=1']);
    await write(store, (t) => t.deleteRange(k('c'))); // 6
    await store.compact(6);
    expect(store.firstHistoryRevision).toBe(7);
    expect(code(() => store.history(6, 6))).toBe('ErrCompacted');
    // A store never compacted reads history from revision 1 on.
    const empty = await KvStore.open(MemoryBackend.open());
    expect(empty.firstHistoryRevision).toBe(1);
    expect(empty.history(1, 1).events).toEqual([]);
  });

  it('keeps the answer across reopening (memory backend)', async () => {
    const served = MemoryBackend.open();
    const one = await build(served, putAtC);
    expectServedFromC(await KvStore.open(served), one.events);
    const refused = MemoryBackend.open();
    await build(refused, deleteAtC);
    expectRefusedAtC(await KvStore.open(refused));
  });

  describe('on LMDB', () => {
    const tempDir = useTempDirs();
    for (const [name, atC] of [
      ['put', putAtC],
      ['delete', deleteAtC],
    ] as const) {
      it(`keeps the answer across close and reopen (${name} at C)`, async () => {
        const path = join(await tempDir(), 'db');
        const first = LmdbBackend.open({ path });
        let events: string[];
        try {
          events = (await build(first, atC)).events;
        } finally {
          await first.close();
        }
        const second = LmdbBackend.open({ path });
        try {
          const again = await KvStore.open(second);
          if (name === 'put') expectServedFromC(again, events);
          else expectRefusedAtC(again);
        } finally {
          await second.close();
        }
      });
    }
  });

  describe('after an interrupted compaction', () => {
    /** The first batch of compaction at 4 as runCompaction writes it, then a crash after deleting `deleted`. */
    async function crash(backend: Backend, replayable: number | undefined, deleted: { main: number; sub: number; tombstone?: boolean }[]): Promise<void> {
      await backend.batch((t) => {
        t.put('meta', k('scheduledCompactRev'), u64(4));
        if (replayable !== undefined) t.put('meta', k('replayableCompactRev'), u64(replayable));
        for (const r of deleted) t.delete('key', encodeRevision({ main: r.main, sub: r.sub }, { tombstone: r.tombstone === true }));
      });
    }

    it('still refuses C when the deleted part was the tombstone at C', async () => {
      const backend = MemoryBackend.open();
      await build(backend, deleteAtC, false);
      // The crash came after deleting b@3 and the tombstone b@4.1: what is left at 4 is all
      // puts, so only the stored answer (0) knows that revision 4 had a delete.
      await crash(backend, 0, [
        { main: 3, sub: 0 },
        { main: 4, sub: 1, tombstone: true },
      ]);
      const reopened = await KvStore.open(backend);
      expectRefusedAtC(reopened);
      expect(meta(backend, 'finishedCompactRev')).toEqual(u64(4));
      expect(meta(backend, 'replayableCompactRev')).toEqual(u64(0));
      expectRefusedAtC(await KvStore.open(backend));
    });

    it('serves C when revision C only put keys', async () => {
      const backend = MemoryBackend.open();
      const { events } = await build(backend, putAtC, false);
      await crash(backend, 4, [{ main: 2, sub: 0 }]);
      const reopened = await KvStore.open(backend);
      expectServedFromC(reopened, events);
      expect(meta(backend, 'finishedCompactRev')).toEqual(u64(4));
      expectServedFromC(await KvStore.open(backend), events);
    });

    it('refuses C when the stored answer is missing (a store written before it existed)', async () => {
      const backend = MemoryBackend.open();
      await build(backend, putAtC, false);
      await crash(backend, undefined, []);
      expectRefusedAtC(await KvStore.open(backend));
      // Likewise for a finished compaction without it.
      const finished = MemoryBackend.open();
      await build(finished, putAtC);
      await finished.batch((t) => t.delete('meta', k('replayableCompactRev')));
      expectRefusedAtC(await KvStore.open(finished));
    });
  });

  it('replays exactly the changes written from the first history revision on (seeded)', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const random = rng(seed);
      const backend = MemoryBackend.open();
      let store = await KvStore.open(backend);
      const written = new Map<number, string[]>();
      let served = 0;
      let refused = 0;
      for (let step = 0; step < 200; step++) {
        if (random() < 0.1 && store.currentRevision > store.compactRevision) {
          const rev = store.compactRevision + 1 + Math.floor(random() * (store.currentRevision - store.compactRevision));
          await store.compact(rev);
          if (random() < 0.3) store = await KvStore.open(backend);
        } else {
          const w = await write(store, (t) => {
            const ops = 1 + Math.floor(random() * 3);
            for (let o = 0; o < ops; o++) {
              const key = k('abcdef'[Math.floor(random() * 6)]!);
              if (random() < 0.7) t.put(key, k(String(step)));
              else t.deleteRange(key);
            }
          });
          if (w.events.length > 0) written.set(w.revision, show(w.events));
        }
        const first = store.firstHistoryRevision;
        expect(first === store.compactRevision || first === store.compactRevision + 1 || store.compactRevision === 0).toBe(true);
        if (first === store.compactRevision) served++;
        else if (store.compactRevision > 0) refused++;
        if (first > 1) expect(code(() => store.history(first - 1, store.currentRevision))).toBe('ErrCompacted');
        const expected: string[] = [];
        for (let r = first; r <= store.currentRevision; r++) expected.push(...(written.get(r) ?? []));
        expect(show(store.history(first, store.currentRevision).events)).toEqual(expected);
      }
      // Both outcomes occurred.
      expect(served).toBeGreaterThan(0);
      expect(refused).toBeGreaterThan(0);
    }
  });
});
