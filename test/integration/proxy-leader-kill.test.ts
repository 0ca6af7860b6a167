// A kvfleet proxy in front of 3 kvfleet members while the leader is SIGKILLed: watchers on the
// proxy, writers and readers through it. The proxy must keep serving reads, writes through it
// must resume once the survivors elect a leader, and every watcher must see every acknowledged
// write exactly once, in revision order (or be canceled as compacted, as etcd would).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { proto } from '@kvfleet/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  clusterClients,
  duplicateRevisions,
  findLeader,
  localRevision,
  memberClients,
  prefixEnd,
  seededRandom,
  sleep,
  startWriters,
  suiteSeed,
  type MemberClients,
} from '../harness/kv-checks.js';
import { proxyAvailable, startProxies, type ProxyFleet } from '../harness/proxy.js';
import { useCluster } from '../harness/use-cluster.js';

const seed = suiteSeed();
const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const text = (b: Uint8Array | null | undefined): string => (b ? Buffer.from(b).toString('utf8') : '');
const num = (v: proto.Int64Like | null | undefined): number => proto.int64ToNumber(v ?? 0, 'int64');

interface Seen {
  key: string;
  value: string;
  revision: number;
}

interface WatchLog {
  events: Seen[];
  compacted: number | undefined;
  /** Set when the stream ended or was canceled for any other reason. */
  broken: string | undefined;
  close(): void;
}

/** A watch of `prefix` from `startRevision` on `c`, recording put events. */
function watchPrefix(c: MemberClients, prefix: string, startRevision: number): WatchLog {
  const call = c.watch.Watch();
  const log: WatchLog = { events: [], compacted: undefined, broken: undefined, close: () => call.cancel() };
  let closing = false;
  log.close = () => {
    closing = true;
    call.cancel();
  };
  call.on('error', (e: Error) => {
    if (!closing) log.broken ??= `stream error: ${e.message}`;
  });
  call.on('end', () => {
    if (!closing) log.broken ??= 'stream ended';
  });
  call.on('data', (res: proto.Decoded<proto.WatchResponse>) => {
    for (const e of res.events) {
      if (e.type === proto.EventType.PUT) log.events.push({ key: text(e.kv?.key), value: text(e.kv?.value), revision: num(e.kv?.modRevision) });
    }
    if (res.canceled) {
      if (num(res.compactRevision) > 0) log.compacted = num(res.compactRevision);
      else log.broken ??= `canceled: ${res.cancelReason}`;
    }
  });
  call.write({ createRequest: { key: utf8(prefix), rangeEnd: prefixEnd(prefix), startRevision } });
  return log;
}

interface ReadStats {
  ok: number;
  failed: number;
  /** Successful reads between the kill and the writers stopping. */
  okWhileDown: number;
  errors: Map<string, number>;
}

/** Serializable (or linearizable) Ranges through `c` until stopped. */
function startReaders(c: MemberClients, prefix: string, serializable: boolean, isDown: () => boolean): { stop(): Promise<ReadStats> } {
  const stats: ReadStats = { ok: 0, failed: 0, okWhileDown: 0, errors: new Map() };
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        await proto.unaryCall(
          c.kv.Range.bind(c.kv),
          { key: utf8(prefix), rangeEnd: prefixEnd(prefix), countOnly: true, serializable },
          undefined,
          { deadline: Date.now() + 2_000 },
        );
        stats.ok++;
        if (isDown()) stats.okWhileDown++;
      } catch (e) {
        stats.failed++;
        const msg = (e as Error).message.slice(0, 120);
        stats.errors.set(msg, (stats.errors.get(msg) ?? 0) + 1);
        await sleep(50);
      }
      await sleep(10);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return stats;
    },
  };
}

describe.skipIf(!proxyAvailable())(`proxy in front of a leader SIGKILL (seed ${seed}; replay with KVFLEET_SEED=${seed})`, () => {
  const cluster = useCluster({ kind: 'kvfleet', size: 3 });
  let fleet: ProxyFleet | undefined;
  let proxyRoot: string | undefined;
  let failed = false;

  beforeAll(async () => {
    proxyRoot = await mkdtemp(join(tmpdir(), 'kvfleet-proxy-leader-kill-'));
    fleet = await startProxies(cluster(), { count: 1, dataRoot: proxyRoot });
  }, 40_000);

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      if (failed || fleet === undefined) return;
      failed = true;
      console.error(`[proxy-leader-kill seed ${seed}] a test failed; proxy log follows (kept in ${proxyRoot})\n${fleet.logs(20_000)}`);
    });
  });

  afterAll(async () => {
    await fleet?.stop();
    if (!failed && proxyRoot !== undefined) await rm(proxyRoot, { recursive: true, force: true });
  }, 30_000);

  it('keeps serving reads, resumes writes, and every watcher sees each acknowledged write once, in order', async () => {
    const rng = seededRandom(seed);
    const c = cluster();
    const members = clusterClients(c);
    const proxy = memberClients(fleet!.clientUrls[0]!);
    // Its own channel: serializable reads not held back by the writers' session floor.
    const reader = memberClients(fleet!.clientUrls[0]!);
    const watchers: WatchLog[] = [];
    let down = false;
    try {
      const start = (await localRevision(proxy.kv)) + 1;
      for (let i = 0; i < 3; i++) watchers.push(watchPrefix(proxy, 'lk/', start));
      const writers = startWriters([proxy], { prefix: 'lk/', count: 4, timeoutMs: 3_000 });
      const cacheReaders = startReaders(reader, 'lk/', true, () => down);
      const linearReaders = startReaders(proxy, 'lk/', false, () => down);
      await sleep(800 + rng.int(700));
      const leader = await findLeader(members);
      const ackedBeforeKill = writers.stats.acked.length;
      await c.member(leader).kill('SIGKILL');
      down = true;
      // A watcher opened while the leader is down must get the whole history too.
      watchers.push(watchPrefix(proxy, 'lk/', start));
      await sleep(4_000);
      const stats = await writers.stop();
      const reads = await cacheReaders.stop();
      const linear = await linearReaders.stop();
      down = false;
      const ackedAfterKill = stats.acked.length - ackedBeforeKill;
      console.log(
        `[proxy-leader-kill seed ${seed}] killed member ${leader}; ${stats.acked.length} puts acknowledged through the proxy ` +
          `(${ackedBeforeKill} before the kill, ${ackedAfterKill} after), ${stats.failed} failed (${JSON.stringify([...stats.errors])}); ` +
          `serializable reads: ${reads.ok} ok (${reads.okWhileDown} while the leader was down), ${reads.failed} failed (${JSON.stringify([...reads.errors])}); ` +
          `linearizable reads: ${linear.ok} ok (${linear.okWhileDown} after the kill), ${linear.failed} failed (${JSON.stringify([...linear.errors])})`,
      );
      expect(ackedBeforeKill, 'writes through the proxy were acknowledged before the kill').toBeGreaterThan(0);
      expect(ackedAfterKill, 'writes through the proxy resumed after the kill').toBeGreaterThan(0);
      expect(reads.okWhileDown, 'serializable reads through the proxy were answered while the leader was down').toBeGreaterThan(0);
      // Served from the cache: a leader election is no reason for one to fail.
      expect.soft([...reads.errors], 'serializable reads through the proxy that failed').toEqual([]);
      expect.soft(linear.okWhileDown, 'linearizable reads through the proxy resumed after the kill').toBeGreaterThan(0);
      expect(duplicateRevisions(stats.acked), `seed ${seed}`).toEqual([]);

      // Wait for every watcher to reach the last acknowledged revision (or end).
      const last = Math.max(...stats.acked.map((a) => a.revision));
      const until = Date.now() + 15_000;
      const reached = (w: WatchLog) => w.compacted !== undefined || w.broken !== undefined || (w.events.at(-1)?.revision ?? 0) >= last;
      while (!watchers.every(reached) && Date.now() < until) await sleep(100);

      const problems: string[] = [];
      watchers.forEach((w, i) => {
        const name = `watcher ${i}${i === 3 ? ' (opened while the leader was down)' : ''}`;
        if (w.broken !== undefined) problems.push(`${name}: ${w.broken} after ${w.events.length} events`);
        if (w.compacted !== undefined) return; // etcd's answer when history is gone; nothing more to check
        for (let k = 1; k < w.events.length; k++) {
          if (w.events[k]!.revision <= w.events[k - 1]!.revision) {
            problems.push(`${name}: event #${k} ${w.events[k]!.key}@${w.events[k]!.revision} after ${w.events[k - 1]!.key}@${w.events[k - 1]!.revision} (out of order or repeated)`);
            break;
          }
        }
        const seen = new Map(w.events.map((e) => [`${e.key}@${e.revision}`, e]));
        const counts = new Map<string, number>();
        for (const e of w.events) counts.set(`${e.key}@${e.revision}`, (counts.get(`${e.key}@${e.revision}`) ?? 0) + 1);
        const missing = stats.acked.filter((a) => seen.get(`${a.key}@${a.revision}`)?.value !== a.value);
        const repeated = [...counts].filter(([, n]) => n > 1);
        if (missing.length > 0) {
          problems.push(`${name}: ${missing.length} of ${stats.acked.length} acknowledged puts not seen, e.g. ${missing.slice(0, 5).map((a) => `${a.key}@${a.revision}`).join(', ')} (last event seen: ${JSON.stringify(w.events.at(-1))})`);
        }
        if (repeated.length > 0) problems.push(`${name}: ${repeated.length} events delivered more than once, e.g. ${repeated.slice(0, 5).map(([k, n]) => `${k} x${n}`).join(', ')}`);
      });
      expect(problems, `seed ${seed}`).toEqual([]);
    } finally {
      for (const w of watchers) w.close();
      proxy.close();
      reader.close();
      for (const m of members) m.close();
    }
  }, 90_000);
});
