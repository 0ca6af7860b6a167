// A follower that misses more entries than the leader keeps behind its snapshots
// (--snapshot-count 50 --experimental-snapshot-catchup-entries 10) must catch up from a
// snapshot sent by the leader: afterwards its data, revision and HashKV equal the others', and
// a watch opened on it from an old revision either replays every event or is cancelled as
// compacted (never a silent gap).
import { describe, expect, it } from 'vitest';
import { proto } from '@kvfleet/core';
import {
  checkConsistency,
  clusterClients,
  deleteKey,
  findLeader,
  hashKV,
  logSinceLastStart,
  prefixEnd,
  put,
  readPrefix,
  seededRandom,
  sleep,
  suiteSeed,
  waitConverged,
  type Ack,
  type MemberClients,
} from '../harness/kv-checks.js';
import { useCluster } from '../harness/use-cluster.js';

const seed = suiteSeed();
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined): string => (b ? Buffer.from(b).toString('utf8') : '');

interface ExpectedEvent {
  revision: number;
  type: 'PUT' | 'DELETE';
  key: string;
  value: string;
}

interface WatchOutcome {
  events: ExpectedEvent[];
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
}

/** Watches `prefix` from `startRevision` until an event at `untilRevision` arrives or the watch is cancelled. */
function watchUntil(client: proto.ServiceClient<'Watch'>, prefix: string, startRevision: number, untilRevision: number, timeoutMs: number): Promise<WatchOutcome> {
  return new Promise((resolve, reject) => {
    const outcome: WatchOutcome = { events: [], canceled: false, compactRevision: 0, cancelReason: '' };
    const stream = client.Watch();
    let done = false;
    const finish = (error?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.cancel();
      if (error) reject(error);
      else resolve(outcome);
    };
    const timer = setTimeout(
      () => finish(new Error(`watch from ${startRevision} did not reach revision ${untilRevision} within ${timeoutMs} ms; got ${outcome.events.length} events, last at ${outcome.events.at(-1)?.revision}`)),
      timeoutMs,
    );
    stream.on('data', (res: proto.Decoded<proto.WatchResponse>) => {
      if (res.canceled) {
        outcome.canceled = true;
        outcome.compactRevision = proto.int64ToNumber(res.compactRevision, 'compactRevision');
        outcome.cancelReason = res.cancelReason;
        finish();
        return;
      }
      for (const e of res.events) {
        outcome.events.push({
          revision: proto.int64ToNumber(e.kv?.modRevision ?? 0, 'modRevision'),
          type: e.type === proto.EventType.DELETE ? 'DELETE' : 'PUT',
          key: text(e.kv?.key),
          value: e.type === proto.EventType.DELETE ? '' : text(e.kv?.value),
        });
      }
      if ((outcome.events.at(-1)?.revision ?? 0) >= untilRevision) finish();
    });
    stream.on('error', (e: Error & { code?: number }) => {
      if (e.code !== 1 /* CANCELLED by us */) finish(e);
    });
    stream.write({ createRequest: { key: utf8(prefix), rangeEnd: prefixEnd(prefix), startRevision } });
  });
}

for (const backend of ['lmdb', 'memory'] as const) describe(`a restarted follower catches up from a leader snapshot (--backend ${backend}; seed ${seed}; replay with KVFLEET_SEED=${seed})`, () => {
  const cluster = useCluster({
    kind: 'kvfleet',
    size: 3,
    extraArgs: ['--snapshot-count', '50', '--experimental-snapshot-catchup-entries', '10', '--backend', backend],
  });

  it('loads the snapshot, then holds the same data, revision and HashKV, and its watch has no gap', async () => {
    const rng = seededRandom(seed);
    const c = cluster();
    const clients: MemberClients[] = clusterClients(c);
    try {
      const leader = await findLeader(clients);
      const followers = [0, 1, 2].filter((i) => i !== leader);
      const follower = rng.pick(followers);
      const via = clients[leader]!.kv;

      // Some history the follower does see.
      for (let i = 0; i < 5; i++) await put(via, `snap/pre/${i}`, `pre-${i}`);
      await waitConverged(clients, 15_000);
      await c.member(follower).kill('SIGKILL');
      const live = clients.filter((_, i) => i !== follower);
      const killedAtRevision = (await readPrefix(live[0]!.kv, 'snap/', false)).revision;

      // ~300 revisions the follower misses: puts over 120 keys (so many are overwritten),
      // deletes of existing keys, and one leased key.
      const expected: ExpectedEvent[] = [];
      const model = new Map<string, string>();
      const acked: Ack[] = [];
      const lease = await proto.unaryCall(clients[leader]!.lease.LeaseGrant.bind(clients[leader]!.lease), { TTL: 600 }, undefined, {
        deadline: Date.now() + 5_000,
      });
      const leaseId = proto.int64ToBigInt(lease.ID).toString();
      for (let op = 0; op < 300; op++) {
        if (op === 150) {
          const revision = await put(via, 'snap/leased', 'with-lease', 5_000, leaseId);
          expected.push({ revision, type: 'PUT', key: 'snap/leased', value: 'with-lease' });
          model.set('snap/leased', 'with-lease');
          continue;
        }
        const existing = [...model.keys()].filter((k) => k !== 'snap/leased');
        if (existing.length > 10 && rng.chance(0.15)) {
          const key = rng.pick(existing);
          const { revision, deleted } = await deleteKey(via, key, 5_000);
          expect(deleted).toBe(1);
          expected.push({ revision, type: 'DELETE', key, value: '' });
          model.delete(key);
        } else {
          const key = `snap/k${rng.int(120)}`;
          const value = `v${op}-${rng.int(1_000_000)}`;
          const revision = await put(via, key, value, 5_000);
          expected.push({ revision, type: 'PUT', key, value });
          model.set(key, value);
          acked.push({ key, value, revision });
        }
      }
      const lastRevision = expected.at(-1)!.revision;
      expect(expected[0]!.revision).toBe(killedAtRevision + 1);
      expect(expected.map((e) => e.revision)).toEqual(expected.map((_, i) => killedAtRevision + 1 + i));

      const restartAt = Date.now();
      await c.restart(follower);
      const revision = await waitConverged(clients, 30_000);
      const catchUpMs = Date.now() - restartAt;
      expect(revision).toBe(lastRevision);

      const log = logSinceLastStart(c, follower);
      expect(log, `member ${follower}'s log since its restart should show a snapshot from the leader`).toContain(
        'loading a snapshot received from the leader',
      );

      // Same data everywhere, equal to the model; same revision and HashKV.
      const latestAcked = [...new Map(acked.map((a) => [a.key, a])).values()].filter((a) => model.get(a.key) === a.value);
      const result = await checkConsistency(clients, 'snap/', latestAcked);
      expect(result.problems, `seed ${seed}`).toEqual([]);
      const reads = await Promise.all(clients.map((cl) => readPrefix(cl.kv, 'snap/')));
      for (const [i, read] of reads.entries()) {
        const data = Object.fromEntries([...read.kvs].filter(([k]) => !k.startsWith('snap/pre/')).map(([k, v]) => [k, v.value]));
        expect(data, `member ${i}'s data`).toEqual(Object.fromEntries(model));
        expect(read.kvs.get('snap/leased')?.lease, `member ${i}: snap/leased keeps its lease`).toBe(leaseId);
      }
      const hashes = await Promise.all(clients.map((cl) => hashKV(cl.maintenance)));
      expect(new Set(hashes.map((h) => h.hash)).size, JSON.stringify(hashes)).toBe(1);

      // A watch on the restarted member from the first revision it missed.
      const watched = await watchUntil(clients[follower]!.watch, 'snap/', killedAtRevision + 1, lastRevision, 15_000);
      if (watched.canceled) {
        // Allowed only as a compaction cancel that names a compact revision past the start.
        expect(watched.compactRevision, `cancelled without a compact revision: ${watched.cancelReason}`).toBeGreaterThan(killedAtRevision + 1);
        expect(watched.events).toEqual([]);
      } else {
        expect(watched.events).toEqual(expected);
      }
      console.log(
        `[snapshot-catch-up ${backend} seed ${seed}] follower ${follower} missed revisions ${killedAtRevision + 1}..${lastRevision}; caught up in ${catchUpMs} ms; ` +
          `watch from ${killedAtRevision + 1}: ${watched.canceled ? `cancelled (compact revision ${watched.compactRevision})` : `${watched.events.length} events`}`,
      );
      await sleep(0);
    } finally {
      for (const cl of clients) cl.close();
    }
  }, 90_000);
});
