import { describe, expect, it } from 'vitest';
import { inRange } from '../../src/keys.js';
import type { KvEvent } from '../../src/kv/kv-event.js';
import { SeededRandom } from '../../src/random.js';
import { WatchHub } from '../../src/watch/watch-hub.js';
import { ERR_EMPTY_WATCHER_RANGE, ERR_WATCHER_DUPLICATE_ID, INVALID_WATCH_ID, type WatchCreateRequest } from '../../src/watch/watch-messages.js';
import { HistoryLog, k, str } from './history-log.js';
import { type Client, client } from './watch-client.js';

function setup(): { log: HistoryLog; hub: WatchHub } {
  const log = new HistoryLog();
  const hub = new WatchHub(log);
  log.hub = hub;
  return { log, hub };
}

/** An event as "type key@rev[=value][<prev]". */
function show(e: KvEvent): string {
  let s = `${e.type} ${str(e.kv.key)}@${e.kv.modRevision}`;
  if (e.type === 'put') s += `=${str(e.kv.value)}`;
  if (e.prevKv !== undefined) s += `<${str(e.prevKv.value)}`;
  return s;
}

function eventsOf(c: Client, id: number): string[] {
  return c.got.filter((r) => r.watchId === id).flatMap((r) => r.events.map(show));
}

/** What a watch must get: every matching change from its start revision, filtered and shaped. */
function expected(log: HistoryLog, req: WatchCreateRequest, createdAt: number): string[] {
  const out: string[] = [];
  const from = req.startRevision === undefined || req.startRevision === 0 ? createdAt + 1 : req.startRevision;
  for (let rev = Math.max(2, from); rev <= log.currentRevision; rev++) {
    for (const e of log.eventsAt(rev)) {
      if (!inRange(e.kv.key, req.key, req.rangeEnd)) continue;
      if (e.type === 'put' ? req.noPut === true : req.noDelete === true) continue;
      const prev = req.prevKv === true ? e.prevKv : undefined;
      out.push(show(prev === undefined ? { type: e.type, kv: e.kv } : { type: e.type, kv: e.kv, prevKv: prev }));
    }
  }
  return out;
}

function drain(hub: WatchHub): void {
  for (let i = 0; i < 10_000 && hub.syncUnsynced(7) > 0; i++);
}

describe('WatchHub (core, over an in-memory history)', () => {
  it('answers a create, then sends each change of the watched key with the header revision', () => {
    const { log, hub } = setup();
    log.put('x', '0');
    const c = client(hub);
    expect(c.stream.create({ key: k('a') })).toEqual({ watchId: 0, created: true, events: [], revision: 2 });
    log.put('a', '1');
    log.put('b', '1');
    log.del('a');
    expect(eventsOf(c, 0)).toEqual(['put a@3=1', 'delete a@5']);
    expect(c.got.slice(1).map((r) => r.revision)).toEqual([3, 5]);
  });

  it('selects prefixes and from-key ranges, applies filters and prev_kv', () => {
    const { log, hub } = setup();
    const c = client(hub);
    const prefix = { key: k('p/'), rangeEnd: k('p0'), prevKv: true };
    const fromKey = { key: k('m'), rangeEnd: Uint8Array.of(0), noPut: true };
    c.stream.create(prefix);
    c.stream.create(fromKey);
    log.put('p/1', 'a');
    log.put('p/1', 'b');
    log.put('q', 'x');
    log.del('p/1');
    log.del('q');
    log.put('a', 'ignored');
    expect(eventsOf(c, 0)).toEqual(['put p/1@2=a', 'put p/1@3=b<a', 'delete p/1@5<b']);
    expect(eventsOf(c, 1)).toEqual(['delete p/1@5', 'delete q@6']);
  });

  it('refuses an empty range and a duplicate id, as etcd does', () => {
    const { hub } = setup();
    const c = client(hub);
    expect(c.stream.create({ key: k('b'), rangeEnd: k('a') })).toMatchObject({ watchId: INVALID_WATCH_ID, canceled: true, cancelReason: ERR_EMPTY_WATCHER_RANGE });
    c.stream.create({ key: k('a'), watchId: 7 });
    expect(c.stream.create({ key: k('b'), watchId: 7 })).toMatchObject({ canceled: true, cancelReason: ERR_WATCHER_DUPLICATE_ID });
  });

  it('catches a watch starting in the past up from history, then keeps it live, without gaps or repeats', () => {
    const { log, hub } = setup();
    for (let i = 0; i < 50; i++) log.put(`k${i % 5}`, `v${i}`);
    const c = client(hub);
    const req = { key: k('k'), rangeEnd: k('l'), startRevision: 10 };
    c.stream.create(req);
    log.put('k1', 'during');
    drain(hub);
    log.put('k2', 'after');
    expect(eventsOf(c, 0)).toEqual(expected(log, req, 0));
    expect(hub.unsyncedCount).toBe(0);
  });

  it('cancels a watch whose start is compacted, with the compact revision and header revision 0', () => {
    const { log, hub } = setup();
    for (let i = 0; i < 10; i++) log.put('a', `${i}`);
    log.compact(6);
    const c = client(hub);
    c.stream.create({ key: k('a'), startRevision: 3 });
    drain(hub);
    expect(c.got.at(-1)).toEqual({ watchId: 0, canceled: true, compactRevision: 6, events: [], revision: 0 });
    expect(hub.watcherCount).toBe(0);
  });

  it('bounds a slow client: its queue stops at the bound, then it catches up from history once it drains', () => {
    const { log, hub } = setup();
    const c = client(hub, { maxQueuedResponses: 4 });
    const req = { key: k('a'), rangeEnd: k('z'), prevKv: true };
    c.stream.create(req);
    c.accept = false;
    for (let i = 0; i < 100; i++) log.put(`a${i % 7}`, `${i}`);
    expect(c.stream.isFull).toBe(true);
    expect(c.stream.queued).toBeLessThanOrEqual(4);
    c.accept = true;
    c.stream.resume();
    drain(hub);
    log.put('a1', 'live');
    expect(eventsOf(c, 0)).toEqual(expected(log, req, 1));
  });

  it('falls back to history when a notify skips revisions', () => {
    const { log, hub } = setup();
    const c = client(hub);
    const req = { key: k('a') };
    c.stream.create(req);
    log.put('a', '1');
    log.write([{ put: 'a', value: '2' }], false);
    log.write([{ put: 'a', value: '3' }], false);
    const rev = log.write([{ put: 'a', value: '4' }], false);
    hub.notify(rev, log.eventsAt(rev));
    drain(hub);
    expect(eventsOf(c, 0)).toEqual(expected(log, req, 1));
  });

  it('answers a progress request with the hub revision once every watcher is synced', () => {
    const { log, hub } = setup();
    for (let i = 0; i < 20; i++) log.put('a', `${i}`);
    const c = client(hub);
    c.stream.create({ key: k('a'), startRevision: 2 });
    c.stream.requestProgress();
    expect(c.got.some((r) => r.watchId === INVALID_WATCH_ID)).toBe(false);
    drain(hub);
    expect(c.got.at(-1)).toEqual({ watchId: INVALID_WATCH_ID, events: [], revision: log.currentRevision });
  });

  it('every watch of a random workload gets exactly its changes (many streams, random starts and filters, slow clients)', () => {
    let delivered = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const rnd = new SeededRandom(seed);
      const { log, hub } = setup();
      const keys = ['a', 'ab', 'b', 'ba', 'c', 'd/1', 'd/2'];
      const watches: { c: Client; id: number; req: WatchCreateRequest; createdAt: number }[] = [];
      const clients = Array.from({ length: 3 }, () => client(hub, { maxQueuedResponses: 1 + rnd.int(5) }));
      for (let step = 0; step < 300; step++) {
        const r = rnd.float();
        if (r < 0.6) {
          const ops = Array.from({ length: 1 + rnd.int(3) }, () => {
            const key = rnd.pick(keys);
            return rnd.chance(0.25) ? { del: key } : { put: key, value: `${step}` };
          });
          // etcd changes a key at most once per revision.
          const seen = new Set<string>();
          log.write(ops.filter((o) => ('put' in o ? !seen.has(o.put) && seen.add(o.put) : !seen.has(o.del) && seen.add(o.del))));
        } else if (r < 0.7) {
          const c = rnd.pick(clients);
          const key = rnd.pick(keys);
          const req: WatchCreateRequest = {
            key: k(key),
            rangeEnd: rnd.chance(0.5) ? k(`${key}\xff`) : undefined,
            startRevision: rnd.chance(0.5) ? Math.max(log.firstHistoryRevision, 1 + rnd.int(log.currentRevision + 2)) : 0,
            prevKv: rnd.chance(0.5),
            noPut: rnd.chance(0.1),
            noDelete: rnd.chance(0.1),
          };
          const created = c.stream.create(req);
          if (created.created === true) watches.push({ c, id: created.watchId, req, createdAt: log.currentRevision });
        } else if (r < 0.85) {
          const c = rnd.pick(clients);
          c.accept = !c.accept;
          if (c.accept) c.stream.resume();
        } else {
          hub.syncUnsynced(1 + rnd.int(10));
        }
      }
      for (const c of clients) {
        c.accept = true;
        c.stream.resume();
      }
      drain(hub);
      for (const w of watches) {
        const want = expected(log, w.req, w.createdAt);
        delivered += want.length;
        expect(eventsOf(w.c, w.id), `seed ${seed} watch ${w.id}`).toEqual(want);
      }
      expect(hub.unsyncedCount).toBe(0);
    }
    // Not vacuous: thousands of events across the seeds, many through a full queue and history.
    expect(delivered).toBeGreaterThan(3000);
  });
});
