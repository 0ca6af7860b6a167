/**
 * A first whole-member swarm: three real members on the simulated world, writes going to random
 * members while members crash (power loss, tearing the last unsynced write) and restart; then
 * everything restarts and heals, and every member must hold every acknowledged write, at the
 * same revision with the same HashKV. Run by `npm run sim -- --members` and member-swarm.test.ts.
 */
import { SeededRandom } from '@kvfleet/core';
import type { etcdserver } from '@kvfleet/server';
import { EventQueue } from '../event-queue.js';
import { HEALTHY_NETWORK, SimNetwork } from '../network.js';
import type { SimEvent } from './sim-clock.js';
import { SimMember } from './sim-member.js';
import { SimPeers } from './sim-peers.js';

const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const enc = new TextEncoder();

/** Lets every promise the last event started settle (no real I/O runs in a simulated member). */
async function settle(queue: EventQueue<SimEvent>): Promise<void> {
  for (let i = 0; i < 3 && queue.size() === 0; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
}

/** Runs the next event due by `end`; false when none is. */
async function step(queue: EventQueue<SimEvent>, end: number): Promise<boolean> {
  await settle(queue);
  if ((queue.peekTime() ?? Infinity) > end) return false;
  queue.pop()!();
  return true;
}

async function runFor(queue: EventQueue<SimEvent>, ms: number, each?: () => void): Promise<void> {
  const end = queue.now + ms;
  do each?.();
  while (await step(queue, end));
  queue.now = end;
}

async function runUntil(queue: EventQueue<SimEvent>, done: () => boolean, limitMs: number, what: string): Promise<void> {
  const end = queue.now + limitMs;
  while (!done()) {
    if (!(await step(queue, end))) throw new Error(`${what}: not within ${limitMs} ms of simulated time`);
  }
}

export interface MemberSwarmStats {
  readonly acked: number;
  readonly crashes: number;
  readonly simulatedMs: number;
}

export type MemberSwarmResult = { readonly seed: number; readonly ok: true; readonly stats: MemberSwarmStats } | { readonly seed: number; readonly ok: false; readonly violation: string };

/** One seed: the whole run decided by it; a violation is the first broken guarantee, in words. */
export async function runMemberSwarm(seed: number): Promise<MemberSwarmResult> {
  try {
    return { seed, ok: true, stats: await swarm(seed) };
  } catch (e) {
    return { seed, ok: false, violation: e instanceof Error ? e.message : String(e) };
  }
}

function check(ok: boolean, message: () => string): void {
  if (!ok) throw new Error(message());
}

async function swarm(seed: number): Promise<MemberSwarmStats> {
  const rnd = new SeededRandom(seed);
  const queue = new EventQueue<SimEvent>();
  const fates = new SimNetwork(rnd.fork(), { ...HEALTHY_NETWORK, dropRate: rnd.pick([0, 0.01, 0.05]) });
  const peers = new SimPeers(fates, (ms, fn) => queue.schedule(ms, fn), () => Date.UTC(2026, 0, 1) + queue.now);
  const names = ['m1', 'm2', 'm3'];
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
    backend: 'lmdb',
    snapshotCount: 50,
    snapshotCatchUpEntries: 10,
    heartbeatIntervalMs: 10,
    electionTimeoutMs: 100,
    maxRequestBytes: 1.5 * 1024 * 1024,
    maxTxnOps: 128,
    quotaBackendBytes: 0,
    logger: SILENT,
  });
  const diskRnd = rnd.fork();
  const members = names.map((name, i) => ({ name, sim: new SimMember(queue, peers, { seed: seed * 10 + i, diskDelay: () => 1 + diskRnd.int(4), tear: (n) => diskRnd.int(n + 1) }), server: undefined as etcdserver.EtcdServer | undefined }));
  const failures: string[] = [];
  const start = (m: (typeof members)[number]): void => {
    void m.sim.start(config(m.name)).then(
      (s) => (m.server = s),
      (e: unknown) => failures.push(`${m.name} failed to start: ${String(e)}`),
    );
  };
  members.forEach(start);
  const acked = new Map<string, string>();
  let crashes = 0;
  let next = 0;
  const faults = rnd.fork();
  await runFor(queue, 3000, () => {
    const up = members.filter((x) => x.server !== undefined);
    if (up.length > 0 && faults.chance(0.02)) {
      const m = faults.pick(up);
      {
        const k = `k${next}`;
        const v = `v${next++}`;
        m.server!.propose({ put: { key: enc.encode(k), value: enc.encode(v), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false } }).then(
          () => acked.set(k, v),
          () => undefined,
        );
      }
    }
    if (up.length === 3 && faults.chance(0.0005)) {
      {
        const m = faults.pick(up);
        m.sim.crash();
        m.server = undefined;
        crashes++;
        queue.schedule(50 + faults.int(500), () => start(m));
      }
    }
  });
  // Heal: every member up, writes stopped; they must converge on every acknowledged write.
  await runUntil(queue, () => failures.length > 0 || members.every((m) => m.server !== undefined), 5000, 'every member up');
  check(failures.length === 0, () => failures.join('; '));
  const servers = members.map((m) => m.server!);
  await runUntil(queue, () => servers.some((s) => s.isLeader) && new Set(servers.map((s) => s.kv.currentRevision)).size === 1 && servers.every((s) => s.appliedIndex === servers[0]!.appliedIndex), 10_000, 'convergence');
  for (const [i, s] of servers.entries()) {
    for (const [k, v] of acked) {
      const got = s.kv.range(enc.encode(k)).kvs.map((kv) => new TextDecoder().decode(kv.value));
      check(got.length === 1 && got[0] === v, () => `lost an acknowledged write: ${names[i]} has ${k}=${JSON.stringify(got)}, acknowledged ${v}`);
    }
  }
  const hashes = servers.map((s) => s.kv.hashKV(0).hash);
  check(new Set(hashes).size === 1, () => `HashKV differs at revision ${servers[0]!.kv.currentRevision}: ${hashes.join(' ')}`);
  return { acked: acked.size, crashes, simulatedMs: queue.now };
}
