import { describe, expect, it } from 'vitest';
import type { KvEvent } from '../../src/mvcc/kv-store.js';
import type { WatchResponse } from '@kvfleet/core';
import { type Client, client, k, setup, str } from './helpers.js';
import { rng } from '../mvcc/helpers.js';

/** Events as "type key@rev[=value][<prev]" strings. */
function show(events: KvEvent[]): string[] {
  return events.map((e) => {
    let s = `${e.type} ${str(e.kv.key)}@${String(e.kv.modRevision)}`;
    if (e.type === 'put') s += `=${str(e.kv.value)}`;
    if (e.prevKv !== undefined) s += `<${str(e.prevKv.value)}`;
    return s;
  });
}

/** All events a client got for one watch id, in order. */
function eventsOf(c: Client, id: number): string[] {
  return c.got.filter((r) => r.watchId === id).flatMap((r) => show(r.events));
}

function drain(hub: { syncUnsynced(n?: number): number }, maxEvents = 1000): void {
  for (let i = 0; i < 10_000 && hub.syncUnsynced(maxEvents) > 0; i++);
}

describe('WatchHub: basics', () => {
  it('sends created, then each revision of a watched key with the header revision', async () => {
    const { hub, write } = await setup();
    await write((t) => t.put(k('x'), k('0')));
    const c = client(hub);
    const created = c.stream.create({ key: k('a') });
    expect(created).toEqual({ watchId: 0, created: true, events: [], revision: 2 });
    await write((t) => t.put(k('a'), k('1')));
    await write((t) => t.put(k('b'), k('1')));
    await write((t) => t.deleteRange(k('a')));
    expect(c.got).toEqual([
      created,
      expect.objectContaining({ watchId: 0, revision: 3 }),
      expect.objectContaining({ watchId: 0, revision: 5 }),
    ]);
    expect(eventsOf(c, 0)).toEqual(['put a@3=1', 'delete a@5']);
  });

  it('matches prefix and from-key ranges; refuses an empty range as etcd does', async () => {
    const { hub, write } = await setup();
    const c = client(hub);
    const prefix = c.stream.create({ key: k('a/'), rangeEnd: k('a0') }).watchId;
    const from = c.stream.create({ key: k('b'), rangeEnd: Uint8Array.of(0) }).watchId;
    const everything = c.stream.create({ key: new Uint8Array(0), rangeEnd: Uint8Array.of(0) }).watchId;
    const bad = c.stream.create({ key: k('b'), rangeEnd: k('a') });
    expect(bad).toMatchObject({ watchId: -1, created: true, canceled: true, cancelReason: 'mvcc: watcher range is empty' });
    await write((t) => {
      t.put(k('a/1'), k('1'));
      t.put(k('a'), k('2'));
      t.put(k('c'), k('3'));
    });
    expect(eventsOf(c, prefix)).toEqual(['put a/1@2=1']);
    expect(eventsOf(c, from)).toEqual(['put c@2=3']);
    expect(eventsOf(c, everything)).toEqual(['put a/1@2=1', 'put a@2=2', 'put c@2=3']);
    // One response per watcher per revision: a transaction is never split.
    expect(c.got.filter((r) => r.watchId === everything && r.events.length > 0)).toHaveLength(1);
  });

  it('applies noPut/noDelete filters and prevKv', async () => {
    const { hub, write } = await setup();
    const c = client(hub);
    const noPut = c.stream.create({ key: k('a'), noPut: true }).watchId;
    const noDel = c.stream.create({ key: k('a'), noDelete: true }).watchId;
    const prev = c.stream.create({ key: k('a'), prevKv: true }).watchId;
    const plain = c.stream.create({ key: k('a') }).watchId;
    await write((t) => t.put(k('a'), k('1')));
    await write((t) => t.put(k('a'), k('2')));
    await write((t) => t.deleteRange(k('a')));
    expect(eventsOf(c, noPut)).toEqual(['delete a@4']);
    expect(eventsOf(c, noDel)).toEqual(['put a@2=1', 'put a@3=2']);
    expect(eventsOf(c, prev)).toEqual(['put a@2=1', 'put a@3=2<1', 'delete a@4<2']);
    // The write result carries prevKv, but a watch without prev_kv must not.
    expect(eventsOf(c, plain)).toEqual(['put a@2=1', 'put a@3=2', 'delete a@4']);
    // Filtered-out revisions send nothing at all.
    expect(c.got.filter((r) => r.watchId === noPut)).toHaveLength(2);
  });

  it('gives the same events (prevKv included) from history as live', async () => {
    const { hub, write } = await setup();
    const live = client(hub);
    live.stream.create({ key: k('a'), rangeEnd: k('z'), prevKv: true });
    await write((t) => t.put(k('a'), k('1')));
    await write((t) => {
      t.put(k('a'), k('2'));
      t.put(k('b'), k('1'));
    });
    await write((t) => t.deleteRange(k('a'), k('c')));
    const late = client(hub);
    late.stream.create({ key: k('a'), rangeEnd: k('z'), prevKv: true, startRevision: 2 });
    drain(hub);
    expect(eventsOf(late, 0)).toEqual(eventsOf(live, 0));
    expect(eventsOf(live, 0)).toEqual(['put a@2=1', 'put a@3=2<1', 'put b@3=1', 'delete a@4<2', 'delete b@4<1']);
  });
});

describe('WatchHub: ids', () => {
  it('uses client-chosen ids, allocates around them, refuses duplicates, ignores unknown cancels', async () => {
    const { hub } = await setup();
    const c = client(hub);
    expect(c.stream.create({ key: k('a'), watchId: 1 }).watchId).toBe(1);
    expect(c.stream.create({ key: k('a') }).watchId).toBe(0);
    expect(c.stream.create({ key: k('a') }).watchId).toBe(2);
    expect(c.stream.create({ key: k('b'), watchId: 2 })).toMatchObject({
      watchId: -1,
      created: true,
      canceled: true,
      cancelReason: 'mvcc: duplicate watch ID provided on the WatchStream',
    });
    expect(c.stream.cancel(2)).toMatchObject({ watchId: 2, canceled: true });
    expect(c.stream.cancel(2)).toBeUndefined();
    expect(c.stream.create({ key: k('b'), watchId: 2 }).watchId).toBe(2);
    // Ids are per stream.
    expect(client(hub).stream.create({ key: k('a'), watchId: 1 }).watchId).toBe(1);
    expect(c.stream.size).toBe(3);
  });
});

describe('WatchHub: revisions', () => {
  it('waits for a future start revision', async () => {
    const { hub, write } = await setup();
    const c = client(hub);
    c.stream.create({ key: k('a'), startRevision: 5 });
    for (let i = 1; i <= 5; i++) await write((t) => t.put(k('a'), k(String(i))));
    expect(eventsOf(c, 0)).toEqual(['put a@5=4', 'put a@6=5']);
  });

  it('resumes from the last seen revision + 1 with nothing lost or repeated', async () => {
    const { hub, write } = await setup();
    const c = client(hub);
    c.stream.create({ key: k('a') });
    for (let i = 1; i <= 3; i++) await write((t) => t.put(k('a'), k(String(i))));
    c.stream.close();
    for (let i = 4; i <= 6; i++) await write((t) => t.put(k('a'), k(String(i))));
    const d = client(hub);
    d.stream.create({ key: k('a'), startRevision: 5 });
    await write((t) => t.put(k('a'), k('7')));
    drain(hub);
    await write((t) => t.put(k('a'), k('8')));
    expect([...eventsOf(c, 0), ...eventsOf(d, 0)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => `put a@${String(i + 1)}=${String(i)}`));
  });

  it('catches up in bounded steps that never split a revision', async () => {
    const { hub, write } = await setup();
    for (let i = 1; i <= 10; i++) {
      await write((t) => {
        t.put(k('a'), k(String(i)));
        t.put(k('b'), k(String(i)));
      });
    }
    const c = client(hub);
    c.stream.create({ key: k('a'), rangeEnd: k('c'), startRevision: 2 });
    expect(hub.syncUnsynced(3)).toBe(1);
    const first = c.got[1]!;
    expect(show(first.events)).toEqual(['put a@2=1', 'put b@2=1']);
    // The header revision is the hub's current one, beyond the events of a catch-up batch.
    expect(first.revision).toBe(11);
    drain(hub, 3);
    const batches = c.got.filter((r) => r.events.length > 0);
    expect(batches.length).toBe(10);
    for (const r of batches) {
      expect(new Set(r.events.map((e) => e.kv.modRevision)).size).toBe(1);
      expect(r.revision).toBeGreaterThanOrEqual(r.events[r.events.length - 1]!.kv.modRevision);
    }
  });

  it('falls back to history when notify skips revisions', async () => {
    const { store, hub, write } = await setup();
    const c = client(hub);
    c.stream.create({ key: k('a') });
    await store.write({ consistentIndex: 1, consistentTerm: 1 }, (t) => t.put(k('a'), k('1'))); // not notified
    await write((t) => t.put(k('a'), k('2')));
    expect(eventsOf(c, 0)).toEqual([]);
    drain(hub);
    expect(eventsOf(c, 0)).toEqual(['put a@2=1', 'put a@3=2']);
    expect(() => hub.notify(3, [])).toThrow(RangeError);
  });
});

describe('WatchHub: compaction', () => {
  it('sends created, then a cancel with compactRevision for a compacted start revision', async () => {
    const { store, hub, write } = await setup();
    for (let i = 1; i <= 6; i++) await write((t) => t.put(k('a'), k(String(i))));
    await store.compact(5);
    const c = client(hub);
    c.stream.create({ key: k('a'), startRevision: 3 });
    c.stream.create({ key: k('a'), startRevision: 5 });
    c.stream.create({ key: k('a'), startRevision: 6 });
    drain(hub);
    expect(c.got.slice(3, 4)).toEqual([{ watchId: 0, canceled: true, compactRevision: 5, events: [], revision: 0 }]);
    // Revision 5 was a put, kept by compaction: a start at exactly 5 replays from it, as etcd.
    expect(eventsOf(c, 1)).toEqual(['put a@5=4', 'put a@6=5', 'put a@7=6']);
    expect(eventsOf(c, 2)).toEqual(['put a@6=5', 'put a@7=6']);
    expect(c.got.filter((r) => r.canceled === true).length).toBe(1);
    expect(c.stream.size).toBe(2);
  });

  it('cancels a start at exactly the compact revision when that revision deleted a key', async () => {
    const { store, hub, write } = await setup();
    await write((t) => t.put(k('a'), k('1'))); // 2
    await write((t) => t.put(k('b'), k('1'))); // 3
    await write((t) => {
      t.put(k('a'), k('2'));
      t.deleteRange(k('b'));
    }); // 4
    await write((t) => t.put(k('a'), k('3'))); // 5
    await store.compact(4);
    const c = client(hub);
    c.stream.create({ key: k('a'), rangeEnd: k('c'), startRevision: 3 });
    c.stream.create({ key: k('a'), rangeEnd: k('c'), startRevision: 4 });
    // Watching only "a", revision 4's delete of "b" would not matter, but the hub cannot tell
    // which keys the dropped change touched, so it cancels any start at 4.
    c.stream.create({ key: k('a'), startRevision: 4 });
    c.stream.create({ key: k('a'), rangeEnd: k('c'), startRevision: 5 });
    drain(hub);
    expect(c.got.filter((r) => r.canceled === true)).toEqual([
      { watchId: 0, canceled: true, compactRevision: 4, events: [], revision: 0 },
      // The delete of b at 4 is compacted away: replaying from 4 would miss it, so the client is
      // pointed at compact + 1 (etcd would replay it; docs/compatibility.md).
      { watchId: 1, canceled: true, compactRevision: 5, events: [], revision: 0 },
      { watchId: 2, canceled: true, compactRevision: 5, events: [], revision: 0 },
    ]);
    expect(eventsOf(c, 3)).toEqual(['put a@5=3']);
    expect(c.stream.size).toBe(1);
  });

  it('replays from exactly the compact revision a watcher that fell behind to it', async () => {
    const { store, hub, write } = await setup();
    const c = client(hub, { maxQueuedResponses: 2 });
    c.stream.create({ key: k('a') });
    c.accept = false;
    for (let i = 1; i <= 6; i++) await write((t) => t.put(k('a'), k(String(i))));
    // a@2..a@4 were handed out before the queue filled: the watcher waits at revision 5
    // (see the previous case, where compaction at 6 cancels it after a@4).
    expect(hub.unsyncedCount).toBe(1);
    await store.compact(5);
    c.accept = true;
    c.stream.resume();
    drain(hub);
    expect(c.got.some((r) => r.canceled === true)).toBe(false);
    expect(eventsOf(c, 0)).toEqual(['put a@2=1', 'put a@3=2', 'put a@4=3', 'put a@5=4', 'put a@6=5', 'put a@7=6']);
  });

  it('cancels a watcher that fell behind past a compaction', async () => {
    const { store, hub, write } = await setup();
    const c = client(hub, { maxQueuedResponses: 2 });
    c.stream.create({ key: k('a') });
    c.accept = false;
    for (let i = 1; i <= 6; i++) await write((t) => t.put(k('a'), k(String(i))));
    expect(hub.unsyncedCount).toBe(1);
    await store.compact(6);
    c.accept = true;
    c.stream.resume();
    drain(hub);
    expect(c.got[c.got.length - 1]).toMatchObject({ watchId: 0, canceled: true, compactRevision: 6 });
    expect(eventsOf(c, 0)).toEqual(['put a@2=1', 'put a@3=2', 'put a@4=3']);
  });
});

describe('WatchHub: scale and backpressure', () => {
  it('does O(1) matching work for a write to one of 10,000 watched keys', async () => {
    const { hub, write } = await setup();
    const c = client(hub);
    for (let i = 0; i < 10_000; i++) c.stream.create({ key: k(`key-${String(i)}`) });
    const before = hub.matchWork;
    await write((t) => t.put(k('key-4242'), k('v')));
    expect(hub.matchWork - before).toBe(1);
    expect(c.got[c.got.length - 1]).toMatchObject({ watchId: 4242 });
    const before2 = hub.matchWork;
    await write((t) => t.put(k('unwatched'), k('v')));
    expect(hub.matchWork - before2).toBe(0);
    // A sync pass with nothing unsynced touches no watcher.
    expect(hub.syncUnsynced()).toBe(0);
  });

  it('keeps a slow stream bounded, then delivers everything in order once it drains', async () => {
    const { hub, write } = await setup();
    const slow = client(hub, { maxQueuedResponses: 8, maxQueuedBytes: 1 << 20 });
    const fast = client(hub);
    slow.stream.create({ key: k('k'), rangeEnd: k('l') });
    fast.stream.create({ key: k('k'), rangeEnd: k('l') });
    slow.accept = false;
    let maxQueued = 0;
    for (let i = 1; i <= 500; i++) {
      await write((t) => t.put(k(`k${String(i % 7)}`), k(String(i))));
      hub.syncUnsynced(50);
      maxQueued = Math.max(maxQueued, slow.stream.queued);
    }
    expect(maxQueued).toBeLessThanOrEqual(8);
    expect(slow.got.length).toBeLessThanOrEqual(2);
    expect(hub.unsyncedCount).toBe(1);
    slow.accept = true;
    slow.stream.resume();
    drain(hub, 50);
    expect(hub.unsyncedCount).toBe(0);
    await write((t) => t.put(k('k1'), k('last')));
    expect(eventsOf(slow, 0)).toEqual(eventsOf(fast, 0));
    expect(eventsOf(slow, 0)).toHaveLength(501);
  });

  it('bounds the queue by bytes too', async () => {
    const { hub, write } = await setup();
    const c = client(hub, { maxQueuedResponses: 1000, maxQueuedBytes: 2000 });
    c.stream.create({ key: k('a') });
    c.accept = false;
    for (let i = 0; i < 50; i++) await write((t) => t.put(k('a'), new Uint8Array(500)));
    expect(c.stream.queued).toBeLessThanOrEqual(4);
    expect(c.stream.isFull).toBe(true);
  });
});

describe('WatchHub: progress', () => {
  it('answers requestProgress with watch id -1 and the current revision when all are synced', async () => {
    const { hub, write } = await setup();
    const c = client(hub);
    c.stream.requestProgress();
    expect(c.got).toEqual([]); // no watchers: etcd sends nothing
    c.stream.create({ key: k('a') });
    await write((t) => t.put(k('b'), k('1')));
    c.stream.requestProgress();
    expect(c.got[c.got.length - 1]).toEqual({ watchId: -1, events: [], revision: 2 });
  });

  it('defers progress until every watcher is synced, after the catch-up events', async () => {
    const { hub, write } = await setup();
    for (let i = 1; i <= 5; i++) await write((t) => t.put(k('a'), k(String(i))));
    const c = client(hub);
    c.stream.create({ key: k('a') });
    c.stream.create({ key: k('a'), startRevision: 2 });
    c.stream.requestProgress();
    c.stream.requestProgress(); // coalesced
    expect(c.got.filter((r) => r.watchId === -1)).toEqual([]);
    hub.syncUnsynced(2);
    expect(c.got.filter((r) => r.watchId === -1)).toEqual([]);
    drain(hub, 2);
    const progress = c.got.findIndex((r) => r.watchId === -1);
    expect(c.got.filter((r) => r.watchId === -1)).toEqual([{ watchId: -1, events: [], revision: 6 }]);
    // Every event the progress vouches for came before it.
    expect(c.got.slice(0, progress).flatMap((r) => show(r.events))).toHaveLength(5);
  });

  it("drops progress for unsynced streams in 'drop' mode (etcd >= 3.5.13)", async () => {
    const { hub, write } = await setup();
    await write((t) => t.put(k('a'), k('1')));
    const c = client(hub, { unsyncedProgress: 'drop' });
    c.stream.create({ key: k('a'), startRevision: 2 });
    c.stream.requestProgress();
    drain(hub);
    expect(c.got.filter((r) => r.watchId === -1)).toEqual([]);
    c.stream.requestProgress();
    expect(c.got.filter((r) => r.watchId === -1)).toHaveLength(1);
  });

  it('progress ticks reach idle synced progress_notify watchers only', async () => {
    const { hub, write } = await setup();
    await write((t) => t.put(k('a'), k('1')));
    const c = client(hub);
    const notify = c.stream.create({ key: k('a'), progressNotify: true }).watchId;
    const quiet = c.stream.create({ key: k('a') }).watchId;
    const behind = c.stream.create({ key: k('a'), progressNotify: true, startRevision: 2 }).watchId;
    hub.progressTick();
    const ticks = (): WatchResponse[] => c.got.filter((r) => r.events.length === 0 && r.created !== true);
    expect(ticks()).toEqual([{ watchId: notify, events: [], revision: 2 }]);
    await write((t) => t.put(k('a'), k('2')));
    drain(hub);
    hub.progressTick(); // both got events since the last tick: elided
    expect(ticks()).toHaveLength(1);
    hub.progressTick();
    expect(ticks().slice(1)).toEqual([
      { watchId: notify, events: [], revision: 3 },
      { watchId: behind, events: [], revision: 3 },
    ]);
    expect(ticks().some((r) => r.watchId === quiet)).toBe(false);
  });
});

describe('WatchHub: guarantees under random load', () => {
  it('is ordered, unique, gap-free and atomic for every watcher, slow or not', async () => {
    const { store, hub, write } = await setup();
    const rnd = rng(42);
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const clients: Client[] = [];
    const specs: { c: Client; id: number; key: string; end?: string; start: number; prevKv: boolean }[] = [];
    for (let i = 0; i < 4; i++) clients.push(client(hub, { maxQueuedResponses: 3 }));
    let fellBehind = 0;
    for (let step = 0; step < 300; step++) {
      const r = rnd();
      if (r < 0.6) {
        await write((t) => {
          const n = 1 + Math.floor(rnd() * 3);
          for (let j = 0; j < n; j++) {
            const key = keys[Math.floor(rnd() * keys.length)]!;
            if (rnd() < 0.25) t.deleteRange(k(key));
            else t.put(k(key), k(String(step)));
          }
        });
      } else if (r < 0.7 && specs.length < 30) {
        const c = clients[Math.floor(rnd() * clients.length)]!;
        const key = keys[Math.floor(rnd() * keys.length)]!;
        const end = rnd() < 0.5 ? String.fromCharCode(key.charCodeAt(0) + 2) : undefined;
        const start = rnd() < 0.5 ? 0 : 1 + Math.floor(rnd() * (store.currentRevision + 3));
        const prevKv = rnd() < 0.5;
        const id = c.stream.create({ key: k(key), ...(end === undefined ? {} : { rangeEnd: k(end) }), startRevision: start, prevKv }).watchId;
        specs.push({ c, id, key, ...(end === undefined ? {} : { end }), start: start === 0 ? hub.revision + 1 : start, prevKv });
      } else if (r < 0.85) {
        const c = clients[Math.floor(rnd() * clients.length)]!;
        c.accept = !c.accept;
        if (c.accept) c.stream.resume();
      } else {
        hub.syncUnsynced(1 + Math.floor(rnd() * 5));
      }
      fellBehind = Math.max(fellBehind, hub.unsyncedCount);
    }
    for (const c of clients) {
      c.accept = true;
      c.stream.resume();
    }
    drain(hub, 4);
    // The run must have exercised slow streams and catch-up, not just the happy path.
    expect(specs.length).toBeGreaterThan(15);
    expect(fellBehind).toBeGreaterThan(3);
    expect(clients.reduce((n, c) => n + c.got.length, 0)).toBeGreaterThan(200);
    const inRange = (key: string, s: { key: string; end?: string }): boolean =>
      s.end === undefined ? key === s.key : key >= s.key && key < s.end;
    for (const s of specs) {
      const want = store
        .history(s.start, store.currentRevision, { prevKv: s.prevKv })
        .events.filter((e) => inRange(str(e.kv.key), s));
      const responses = s.c.got.filter((r) => r.watchId === s.id && r.events.length > 0);
      expect(responses.flatMap((r) => show(r.events))).toEqual(show(want));
      // Atomic: a revision's events for this watcher arrive in one response.
      const seen = new Set<number>();
      for (const r of responses) {
        const revs = new Set(r.events.map((e) => e.kv.modRevision));
        for (const rev of revs) {
          expect(seen.has(rev)).toBe(false);
          seen.add(rev);
        }
        expect(r.revision).toBeGreaterThanOrEqual(r.events[r.events.length - 1]!.kv.modRevision);
      }
    }
  });
});
