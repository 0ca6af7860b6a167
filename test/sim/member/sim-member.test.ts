import { SeededRandom } from '@kvfleet/core';
import { etcdserver } from '@kvfleet/server';
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../event-queue.js';
import { HEALTHY_NETWORK, SimNetwork } from '../network.js';
import type { SimEvent } from './sim-clock.js';
import { SimMember } from './sim-member.js';
import { SimPeers } from './sim-peers.js';

const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const enc = new TextEncoder();

/**
 * Runs simulated time until `done()` or `limitMs` of it pass, letting every promise an event
 * starts settle before the next event (no real I/O runs in a simulated member).
 */
async function runUntil(queue: EventQueue<SimEvent>, done: () => boolean, limitMs: number): Promise<void> {
  const end = queue.now + limitMs;
  let idle = 0;
  while (!done()) {
    await new Promise((r) => setImmediate(r));
    const t = queue.peekTime();
    if (t === undefined) {
      if (++idle > 100) throw new Error('the simulation ran out of events');
      continue;
    }
    idle = 0;
    if (t > end) throw new Error(`not done within ${limitMs} ms of simulated time`);
    queue.pop()!();
  }
}

function cluster(size: number, seed: number) {
  const queue = new EventQueue<SimEvent>();
  const rnd = new SeededRandom(seed);
  const fates = new SimNetwork(rnd.fork(), { ...HEALTHY_NETWORK });
  const peers = new SimPeers(fates, (ms, fn) => queue.schedule(ms, fn), () => Date.UTC(2026, 0, 1) + queue.now);
  const names = Array.from({ length: size }, (_, i) => `m${i + 1}`);
  const initialCluster = names.map((n) => `${n}=http://${n}:2380`).join(',');
  const config = (name: string): etcdserver.MemberConfig => ({
    name,
    dataDir: `/${name}`,
    listenClientUrls: [`http://${name}:2379`],
    advertiseClientUrls: [`http://${name}:2379`],
    listenPeerUrls: [`http://${name}:2380`],
    initialAdvertisePeerUrls: [`http://${name}:2380`],
    initialCluster,
    initialClusterState: 'new',
    initialClusterToken: 'sim',
    // A durable backend: the simulated one keeps committed batches through crashes.
    backend: 'lmdb',
    snapshotCount: 10_000,
    snapshotCatchUpEntries: 5_000,
    heartbeatIntervalMs: 10,
    electionTimeoutMs: 100,
    maxRequestBytes: 1.5 * 1024 * 1024,
    maxTxnOps: 128,
    quotaBackendBytes: 0,
    logger: SILENT,
  });
  // Member ids come from the names and token (etcd's rule); each member gets its own seed.
  const members = names.map((name, i) => ({ name, sim: new SimMember(queue, peers, { seed: seed * 100 + i, diskDelay: () => 1 + rnd.int(3) }) }));
  return { queue, members, config, peers, fates, rnd };
}

/** Starts a cluster, waits for a leader, commits one put; returns what happened, for comparing runs. */
async function electAndWrite(
  seed: number,
): Promise<{ servers: etcdserver.EtcdServer[]; members: { name: string; sim: SimMember }[]; queue: EventQueue<SimEvent>; config: (name: string) => etcdserver.MemberConfig; world: ReturnType<typeof cluster>; summary: string }> {
  const world = cluster(3, seed);
  const { queue, members, config } = world;
  const servers: etcdserver.EtcdServer[] = [];
  const starting = Promise.all(members.map((m) => m.sim.start(config(m.name)))).then((s) => servers.push(...s));
  await runUntil(queue, () => servers.length === 3, 10_000);
  await starting;
  await runUntil(queue, () => servers.some((s) => s.isLeader), 10_000);
  const leader = servers.find((s) => s.isLeader)!;
  const electedAt = queue.now;
  let revision = 0;
  void leader.propose({ put: { key: enc.encode('k'), value: enc.encode('v'), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false } }).then((o) => (revision = o.revision));
  await runUntil(queue, () => revision > 0, 10_000);
  await runUntil(queue, () => servers.every((s) => s.kv.currentRevision === revision), 10_000);
  return { servers, members, queue, config, world, summary: `leader ${leader.memberId.toString(16)} term ${leader.raftTerm} at ${electedAt} ms, revision ${revision} everywhere at ${queue.now} ms` };
}

describe('whole members on the simulated world', () => {
  it('the same seed replays the same run (simulated time, seeded randomness)', async () => {
    const a = await electAndWrite(11);
    const b = await electAndWrite(11);
    expect(b.summary).toBe(a.summary);
    expect(a.summary).toMatch(/^leader [0-9a-f]+ term \d+ at \d+ ms, revision 2 everywhere at \d+ ms$/);
  });

  it('three real members elect a leader and commit a write, on simulated time only, then stop', async () => {
    const { servers, members, queue } = await electAndWrite(7);
    for (const s of servers) expect(s.kv.range(enc.encode('k')).kvs.map((kv) => new TextDecoder().decode(kv.value))).toEqual(['v']);
    expect(queue.now).toBeLessThan(1_000);
    let stopped = 0;
    for (const s of servers) void s.stop().then(() => stopped++);
    await runUntil(queue, () => stopped === servers.length, 5_000);
    for (const m of members) for (const t of (m.sim.clock as unknown as { live: Set<{ stack?: string }> }).live) console.log(t.stack?.split('\n').slice(2, 8).join('\n'));
    // A stopped member leaves no timer behind.
    expect(members.map((m) => m.sim.clock.pending)).toEqual([0, 0, 0]);
  });

  it('a crashed member restarts from what its disk kept and catches up; no acknowledged write is lost', async () => {
    const { servers, members, queue, config } = await electAndWrite(23);
    const victim = servers.findIndex((s) => !s.isLeader);
    const leader = servers.find((s) => s.isLeader)!;
    members[victim]!.sim.crash();
    // Writes go on while it is down; each acknowledged one must survive.
    const acked: number[] = [];
    for (let i = 0; i < 20; i++) {
      void leader.propose({ put: { key: enc.encode(`k${i}`), value: enc.encode(`v${i}`), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false } }).then(() => acked.push(i));
    }
    await runUntil(queue, () => acked.length === 20, 10_000);
    let restarted: etcdserver.EtcdServer | undefined;
    void members[victim]!.sim.start(config(members[victim]!.name)).then((s) => (restarted = s));
    await runUntil(queue, () => restarted !== undefined && restarted.kv.currentRevision === leader.kv.currentRevision, 10_000);
    for (const i of acked) expect(restarted!.kv.range(enc.encode(`k${i}`)).kvs).toHaveLength(1);
  });

  it("a joiner removed before the leader's snapshot reaches it stops when the members it fetched refuse it", async () => {
    const { servers, members, queue, config, world } = await electAndWrite(31);
    const leader = servers.find((s) => s.isLeader)!;
    const { member } = await (async () => {
      let added: { member: { id: number } } | undefined;
      void leader.membership.addMember(['http://m4:2380'], true).then((r) => (added = r));
      await runUntil(queue, () => added !== undefined && servers.every((s) => s.membership.members.length === 4), 10_000);
      return added!;
    })();
    // The leader can never reach it, so it has no configuration; it asks a follower first.
    world.fates.cutOneWay(leader.memberId, member.id);
    const order = [...servers.filter((s) => s !== leader), leader].map((s) => members[servers.indexOf(s)]!.name);
    let exitCode: number | undefined;
    const joiner = new SimMember(queue, world.peers, { seed: 3104, diskDelay: () => 1, onExit: (code) => (exitCode = code) });
    const joinConfig: etcdserver.MemberConfig = {
      ...config('m4'),
      initialCluster: [...order.map((n) => `${n}=http://${n}:2380`), 'm4=http://m4:2380'].join(','),
      initialClusterState: 'existing',
    };
    let server: etcdserver.EtcdServer | undefined;
    void joiner.start(joinConfig).then((s) => (server = s));
    await runUntil(queue, () => server !== undefined, 10_000);
    expect(server!.memberId).toBe(member.id);
    let removed = false;
    void leader.membership.removeMember(member.id).then(() => (removed = true));
    await runUntil(queue, () => removed && servers.every((s) => s.membership.members.length === 3), 10_000);
    // The peers' refusals (the prober's, every 5 s) stop it; it never had the leader's data.
    await runUntil(queue, () => exitCode !== undefined, 30_000);
    expect(exitCode).toBe(0);
    expect(server!.kv.currentRevision).toBe(1);
  });
});
