import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../src/backend/memory-backend.js';
import { MvccError } from '../../src/mvcc/errors.js';
import { type KvEvent, KvStore } from '../../src/mvcc/kv-store.js';
import { k, str } from './helpers.js';

const ci = (i: number) => ({ consistentIndex: i, consistentTerm: 1 });

async function open(): Promise<KvStore> {
  return KvStore.open(MemoryBackend.open());
}

async function write(store: KvStore, fn: Parameters<KvStore['write']>[1]): Promise<number> {
  const w = await store.write(ci(store.consistentIndex.consistentIndex + 1), fn);
  return w.revision;
}

/** Events as "type key@rev=value" strings, with "<prev" when present. */
function show(events: KvEvent[]): string[] {
  return events.map((e) => {
    const base = `${e.type} ${str(e.kv.key)}@${String(e.kv.modRevision)}${e.type === 'put' ? `=${str(e.kv.value)}` : ''}`;
    return e.prevKv === undefined ? base : `${base} <${str(e.prevKv.value)}@${String(e.prevKv.modRevision)}`;
  });
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

describe('KvStore.history', () => {
  it('returns puts and deletes of [fromRev, toRev] in revision order', async () => {
    const s = await open();
    await write(s, (t) => t.put(k('a'), k('1'))); // 2
    await write(s, (t) => {
      t.put(k('b'), k('2'));
      t.put(k('c'), k('3'));
    }); // 3
    await write(s, (t) => t.deleteRange(k('a'))); // 4
    await write(s, (t) => t.put(k('a'), k('4'))); // 5
    const all = s.history(2, 5);
    expect(show(all.events)).toEqual(['put a@2=1', 'put b@3=2', 'put c@3=3', 'delete a@4', 'put a@5=4']);
    expect(all.lastRevision).toBe(5);
    expect(show(s.history(3, 4).events)).toEqual(['put b@3=2', 'put c@3=3', 'delete a@4']);
    expect(s.history(5, 4)).toEqual({ events: [], lastRevision: 4 });
  });

  it('never splits a revision under a limit, but returns an oversized first revision whole', async () => {
    const s = await open();
    await write(s, (t) => t.put(k('a'), k('1'))); // 2
    await write(s, (t) => {
      for (const x of ['b', 'c', 'd']) t.put(k(x), k('2'));
    }); // 3
    await write(s, (t) => t.put(k('e'), k('3'))); // 4
    expect(s.history(2, 4, { limit: 1 })).toMatchObject({ lastRevision: 2 });
    expect(s.history(2, 4, { limit: 3 }).lastRevision).toBe(2);
    const four = s.history(2, 4, { limit: 4 });
    expect(four.events.length).toBe(4);
    expect(four.lastRevision).toBe(3);
    const big = s.history(3, 4, { limit: 1 });
    expect(show(big.events)).toEqual(['put b@3=2', 'put c@3=2', 'put d@3=2']);
    expect(big.lastRevision).toBe(3);
    expect(s.history(2, 4, { limit: 5 }).lastRevision).toBe(4);
    // Paging by lastRevision + 1 visits every change exactly once.
    const seen: string[] = [];
    for (let from = 2; from <= 4; ) {
      const page = s.history(from, 4, { limit: 2 });
      seen.push(...show(page.events));
      from = page.lastRevision + 1;
    }
    expect(seen).toEqual(show(s.history(2, 4).events));
  });

  it('attaches prevKv read at revision - 1, skipping create events', async () => {
    const s = await open();
    await write(s, (t) => t.put(k('a'), k('1'))); // 2
    await write(s, (t) => t.put(k('a'), k('2'))); // 3
    await write(s, (t) => t.deleteRange(k('a'))); // 4
    await write(s, (t) => t.put(k('a'), k('3'))); // 5
    const h = s.history(2, 5, { prevKv: true });
    expect(show(h.events)).toEqual(['put a@2=1', 'put a@3=2 <1@2', 'delete a@4 <2@3', 'put a@5=3']);
    expect(s.prevKvOf(h.events[2]!)?.modRevision).toBe(3);
    expect(show(s.history(2, 5).events).every((e) => !e.includes('<'))).toBe(true);
  });

  it('fails with ErrCompacted below the compact revision, ErrFutureRev above the current one', async () => {
    const s = await open();
    for (let i = 1; i <= 5; i++) await write(s, (t) => t.put(k('a'), k(String(i))));
    await s.compact(4);
    expect(code(() => s.history(3, 6))).toBe('ErrCompacted');
    // Revision 4 was a put, which compaction keeps: history from exactly 4 is whole (as etcd).
    expect(show(s.history(4, 6).events)).toEqual(['put a@4=3', 'put a@5=4', 'put a@6=5']);
    expect(code(() => s.history(2, 7))).toBe('ErrFutureRev');
    expect(code(() => s.history(0, 6))).toBe('ErrMvccInvalidArgument');
    // From compact + 1 the history is whole; prevKv at exactly the compact revision is readable,
    // below it is gone.
    const h = s.history(5, 6, { prevKv: true });
    expect(show(h.events)).toEqual(['put a@5=4 <3@4', 'put a@6=5 <4@5']);
    await s.compact(5);
    expect(s.prevKvOf(h.events[0]!)).toBeUndefined();
    expect(s.prevKvOf(h.events[1]!)?.modRevision).toBe(5);
  });

  it('reads across scan pages', async () => {
    const s = await open();
    await write(s, (t) => {
      for (let i = 0; i < 2500; i++) t.put(k(`k${String(i).padStart(5, '0')}`), k('v'));
    });
    await write(s, (t) => t.put(k('z'), k('z')));
    const h = s.history(2, 3, { limit: 10 });
    expect(h.events.length).toBe(2500);
    expect(h.lastRevision).toBe(2);
    expect(s.history(2, 3).events.length).toBe(2501);
  });
});
