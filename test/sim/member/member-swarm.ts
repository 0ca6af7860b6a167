/**
 * The whole-member swarm: three real members on the simulated world serving client traffic and
 * watches through their own gRPC handlers, while members crash (power loss, tearing the last
 * unsynced write) and restart, get cut off, see their wall clocks jump, and the store is
 * compacted; then everything heals and the checks run (docs/simulation.md, "Whole members").
 * Run by `npm run sim -- --members` and member-swarm-{1,2,3}.test.ts.
 */
import { type RandomSource, SeededRandom } from '@kvfleet/core';
import type { etcdserver } from '@kvfleet/server';
import { EventQueue } from '../event-queue.js';
import { HEALTHY_NETWORK, SimNetwork } from '../network.js';
import type { SimEvent } from './sim-clock.js';
import { runFor, runUntil } from './sim-run.js';
import { runLeasePhase } from './sim-leases.js';
import { changeMembership } from './sim-membership.js';
import { SimMember } from './sim-member.js';
import { SimPeers } from './sim-peers.js';
import { FIRST_CLIENT_ID, simClients, startSimTraffic } from './sim-traffic.js';
import type { Outcome } from '../../robustness/history.js';
import { runRequest } from '../../robustness/kv-client.js';
import { checkLinearizable, type CheckResult } from '../../robustness/linearizability/index.js';
import { HistoryRecorder, type TrafficMix } from '../../robustness/traffic.js';
import { validateWatches } from '../../robustness/watch-validator.js';
import { randomWatchSpec, RecordedWatch } from '../../robustness/watchers.js';
import { simWatchIo } from './sim-watches.js';

const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** SIM_LOG=1: every member's log on stderr, stamped with simulated time, to read a failing seed. */
type Log = (msg: string, fields?: Record<string, unknown>) => void;
function traceLogger(name: string, now: () => number): Record<'debug' | 'info' | 'warn' | 'error', Log> {
  const line = (level: string): Log => (msg, fields) => void process.stderr.write(`${String(now()).padStart(6)} ${name} ${level} ${msg}${fields === undefined ? '' : ` ${JSON.stringify(fields)}`}\n`);
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

export interface MemberSwarmStats {
  /** Client requests by outcome. */
  readonly ok: number;
  readonly failed: number;
  readonly unknown: number;
  readonly mix: TrafficMix;
  readonly crashes: number;
  /** Times a member was cut off from the others. */
  readonly partitions: number;
  /** Compactions that succeeded. */
  readonly compactions: number;
  /** The founding cluster's size, the membership changes made (each: a learner added and promoted, an older member removed), and how often a member's disk turned slow. */
  readonly members: number;
  readonly membershipChanges: number;
  readonly slowDisks: number;
  /** Leases the lease phase let expire (and checked gone with their keys on every member). */
  readonly leasesExpired: number;
  /** Watches checked against the reference watch, and the events the reference saw. */
  readonly watches: number;
  readonly watchEvents: number;
  /** 'timeout' when the checker's step budget ran out before it decided (inconclusive, not a violation). */
  readonly linearizability: CheckResult['status'];
  readonly simulatedMs: number;
}

/** Every key the traffic writes is under it; the reference watch covers [PREFIX, PREFIX_END). */
const PREFIX = 'sim/';
const PREFIX_END = 'sim0';
/** Keys single-key watches pick from: some of the etcd mix's and of the kubernetes mix's. */
const WATCHED_KEYS = [...Array.from({ length: 10 }, (_, i) => `${PREFIX}k${i}`), ...Array.from({ length: 5 }, (_, i) => `${PREFIX}pods/p${String(i).padStart(2, '0')}`)];

/** A healed cluster answers a linearizable read within this many tries of a second each. */
const FINAL_READ_ATTEMPTS = 5;

/** The linearizability checker's budget in search steps: the same on every machine, so a seed's verdict is too. */
const LINEARIZABILITY_STEPS = 2_000_000;

export type MemberSwarmResult = { readonly seed: number; readonly ok: true; readonly stats: MemberSwarmStats } | { readonly seed: number; readonly ok: false; readonly violation: string };

/** One seed: the whole run decided by it; a violation is the first broken guarantee, in words. */
/** Deliberate member bugs (`--members --bug NAME`) the checks must catch. */
export const MEMBER_BUGS = {
  /** etcd v3.5's data-inconsistency bug, on every member: a crash between the two commits applies an entry twice. */
  'consistent-index-apart': (): etcdserver.MemberTestingBugs => ({ consistentIndexApart: true }),
  /** Every member acknowledges entries before they are durable: a power loss takes committed entries away. */
  'unsynced-wal': (): etcdserver.MemberTestingBugs => ({ unsyncedWal: true }),
  /** The first member alone keeps revoked leases and their keys. */
  'skip-lease-revoke': (name: string): etcdserver.MemberTestingBugs | undefined => (name === 'm1' ? { skipLeaseRevoke: true } : undefined),
  /** Every member resumes a watch behind a compaction from what is left, skipping events, instead of canceling it. */
  'watch-skips-compacted': (): etcdserver.MemberTestingBugs => ({ skipCompactedWatchEvents: true }),
} as const;
export type MemberBug = keyof typeof MEMBER_BUGS;

export interface MemberSwarmOptions {
  /** Receives the run's trace (requests, watch responses, end state) when given. */
  readonly trace?: (line: string) => void;
  readonly bugs?: readonly MemberBug[];
}

export async function runMemberSwarm(seed: number, options: MemberSwarmOptions = {}): Promise<MemberSwarmResult> {
  try {
    return { seed, ok: true, stats: await swarm(seed, options) };
  } catch (e) {
    return { seed, ok: false, violation: e instanceof Error ? e.message : String(e) };
  }
}

function check(ok: boolean, message: () => string): void {
  if (!ok) throw new Error(message());
}

async function swarm(seed: number, { trace, bugs = [] }: MemberSwarmOptions): Promise<MemberSwarmStats> {
  const rnd = new SeededRandom(seed);
  const queue = new EventQueue<SimEvent>();
  const fates = new SimNetwork(rnd.fork(), { ...HEALTHY_NETWORK, dropRate: rnd.pick([0, 0.01, 0.05]) });
  const peers = new SimPeers(fates, (ms, fn) => queue.schedule(ms, fn), () => Date.UTC(2026, 0, 1) + queue.now);
  // Drawn from a fork of its own so every other draw stays what it was for each seed.
  const shape = new SeededRandom(seed ^ 0x5eed);
  const names = Array.from({ length: shape.pick([3, 3, 5]) }, (_, i) => `m${i + 1}`);
  const initialCluster = names.map((n) => `${n}=http://${n}:2380`).join(',');
  const testingBugs = (name: string): { testingBugs?: etcdserver.MemberTestingBugs } => {
    const all = bugs.map((b) => MEMBER_BUGS[b](name)).filter((b) => b !== undefined);
    return all.length === 0 ? {} : { testingBugs: Object.assign({}, ...all) as etcdserver.MemberTestingBugs };
  };
  const config = (name: string, join: string | undefined): etcdserver.MemberConfig => ({
    name,
    dataDir: `/${name}`,
    listenClientUrls: [`http://${name}:2379`],
    advertiseClientUrls: [`http://${name}:2379`],
    listenPeerUrls: [`http://${name}:2380`],
    initialAdvertisePeerUrls: [`http://${name}:2380`],
    initialCluster: join ?? initialCluster,
    initialClusterState: join === undefined ? 'new' : 'existing',
    initialClusterToken: 'sim',
    backend: 'lmdb',
    snapshotCount: 50,
    snapshotCatchUpEntries: 10,
    heartbeatIntervalMs: 10,
    electionTimeoutMs: 100,
    maxRequestBytes: 1.5 * 1024 * 1024,
    maxTxnOps: 128,
    quotaBackendBytes: 0,
    logger: process.env.SIM_LOG === undefined ? SILENT : traceLogger(name, () => queue.now),
    ...testingBugs(name),
  });
  const diskRnd = rnd.fork();
  const slowDiskUntil = new Map<string, number>();
  const slowDiskChance = shape.pick([0, 0.0002, 0.001]);
  let slowDisks = 0;
  const failures: string[] = [];
  interface SwarmMember {
    readonly name: string;
    readonly sim: SimMember;
    server: etcdserver.EtcdServer | undefined;
    /** The cluster it joined (`--initial-cluster` with state existing), for a member added during the run. */
    readonly join: string | undefined;
    /** Asked to leave: it may stop on its own (exit 0). */
    removing: boolean;
    removed: boolean;
    memberId(): number;
  }
  const members: SwarmMember[] = [];
  const newMember = (name: string, join: string | undefined): SwarmMember => {
    const m: SwarmMember = {
      name,
      join,
      server: undefined,
      removing: false,
      removed: false,
      memberId: () => m.sim.memberId,
      sim: new SimMember(queue, peers, {
        seed: seed * 10 + members.length,
        // A slow disk now and then: commits take 50 to 250 ms for a while.
        diskDelay: () => (queue.now < (slowDiskUntil.get(name) ?? 0) ? 50 + diskRnd.int(200) : 1 + diskRnd.int(4)),
        tear: (n) => diskRnd.int(n + 1),
        onExit: (code) => {
          m.server = undefined;
          // A removed member stops by itself, as etcd's does; any other exit is a failure.
          if (code === 0 && m.removing) m.removed = true;
          else failures.push(`${name} exited with code ${code}`);
        },
      }),
    };
    members.push(m);
    return m;
  };
  /** Members in the cluster and not leaving it. */
  const live = (): SwarmMember[] => members.filter((m) => !m.removing && !m.removed);
  for (const name of names) newMember(name, undefined);
  const start = (m: SwarmMember, attempt = 0): void => {
    void m.sim.start(config(m.name, m.join)).then(
      (s) => {
        if (!m.removed) m.server = s;
      },
      (e: unknown) => {
        // A joiner that asked a peer which had not applied its addition yet is refused, as etcd's
        // is; a supervisor starts it again (as Kubernetes restarts a failed pod).
        if (m.join !== undefined && attempt < 10 && String(e).includes('member count is unequal')) queue.schedule(300, () => start(m, attempt + 1));
        else failures.push(`${m.name} failed to start: ${String(e)}`);
      },
    );
  };
  members.forEach(start);
  const recorder = new HistoryRecorder(() => queue.now);
  const endpoints = members.map((m) => `http://${m.name}:2379`);
  const sleep = (ms: number): Promise<void> => new Promise((r) => queue.schedule(ms, r));
  const now = (): number => Date.UTC(2026, 0, 1) + queue.now;
  const mix = rnd.pick(['etcd', 'kubernetes'] as const);
  const traffic = startSimTraffic({ peers, endpoints, clients: 2 + rnd.int(5), mix, prefix: PREFIX, rng: rnd.fork(), sleep, now, thinkMs: rnd.pick([1, 5, 20]), timeoutMs: 1000 }, recorder);
  // The reference watch sees every event from the first write on; the others are drawn at random, some opened later.
  const watchRng = rnd.fork();
  const watchIo = simWatchIo(peers, FIRST_CLIENT_ID - 2, queue);
  const reference = new RecordedWatch(0, endpoints, 0, { key: PREFIX, end: PREFIX_END, startRevision: 2, prevKv: true, noPut: false, noDelete: false, progressNotify: true }, 500, watchIo);
  const watches: RecordedWatch[] = [];
  const watchCount = 1 + watchRng.int(6);
  const openWatch = (): void => {
    const spec = randomWatchSpec(watchRng, PREFIX, PREFIX_END, reference.lastRevision, WATCHED_KEYS);
    watches.push(new RecordedWatch(watches.length + 1, endpoints, watchRng.int(endpoints.length), spec, 200 + watchRng.int(800), watchIo));
  };
  let crashes = 0;
  /** Power loss on `m`; its process comes back 50 to 550 ms later. */
  const crashAndRestart = (m: SwarmMember, rng: RandomSource): void => {
    m.sim.crash();
    m.server = undefined;
    crashes++;
    queue.schedule(50 + rng.int(500), () => start(m));
  };
  const faults = rnd.fork();
  // Membership changes (add a learner, promote it, remove an older member), drawn apart as well.
  const membershipRng = new SeededRandom(seed ^ 0xc1a5);
  const membershipChance = membershipRng.pick([0, 0, 0.0005]);
  let changing = false;
  const changes: string[] = [];
  const changeCtx = {
    peers,
    clientId: FIRST_CLIENT_ID - 5,
    rng: membershipRng,
    sleep,
    now,
    live,
    join: (name: string, cluster: string): SwarmMember => {
      const m = newMember(name, cluster);
      start(m);
      return m;
    },
    removing: (m: SwarmMember) => void (m.removing = true),
    // Clients and watches know the founders' URLs only: keep two of them in the cluster.
    removable: (m: SwarmMember) => m.join === undefined && live().filter((x) => x.join === undefined).length > 2,
  };
  // More faults, drawn apart so the crash schedule above stays what it was for each seed.
  const chaos = rnd.fork();
  const partitionChance = chaos.pick([0, 0.0003, 0.001]);
  const jumpChance = chaos.pick([0, 0.0003]);
  let partitions = 0;
  let partitioned = false;
  const compaction = startCompactor(chaos.pick([0, 200, 700]), chaos.fork(), reference, recorder, simClients(peers, FIRST_CLIENT_ID - 3, endpoints), endpoints, sleep, now);
  await runFor(queue, 3000, () => {
    if (watches.length < watchCount && watchRng.chance(0.002)) openWatch();
    const ids = live().map((m) => m.sim.memberId).filter((id) => id !== 0);
    if (!partitioned && ids.length === live().length && chaos.chance(partitionChance)) {
      // One member cut off from the others (clients still reach it), healed 100 to 800 ms later.
      const alone = chaos.pick(ids);
      fates.partition([alone], ids.filter((id) => id !== alone));
      partitioned = true;
      partitions++;
      queue.schedule(100 + chaos.int(700), () => {
        fates.heal();
        partitioned = false;
      });
    }
    if (chaos.chance(jumpChance)) chaos.pick(live()).sim.clock.jump(chaos.pick([-30_000, -1_000, 1_000, 60_000]));
    const up = live().filter((x) => x.server !== undefined);
    if (!changing && up.length === live().length && membershipRng.chance(membershipChance)) {
      changing = true;
      void changeMembership(changeCtx, `m${members.length + 1}`).then(
        (done) => {
          changes.push(done);
          changing = false;
        },
        (e: unknown) => failures.push(`membership change failed: ${e instanceof Error ? e.message : String(e)}`),
      );
    }
    if (shape.chance(slowDiskChance)) {
      slowDiskUntil.set(shape.pick(names), queue.now + 200 + shape.int(800));
      slowDisks++;
    }
    if (up.length === live().length && faults.chance(0.0005)) crashAndRestart(faults.pick(up), faults);
  });
  check(failures.length === 0, () => failures.join('; '));
  let trafficDone = false;
  void Promise.all([traffic.stop(), compaction.stop()]).then(() => (trafficDone = true));
  await runUntil(queue, () => trafficDone, 5000, 'clients finishing their last requests');
  // Heal: the membership change in progress done, removed members stopped, every other member
  // up, writes stopped; they must converge on every acknowledged write.
  await runUntil(queue, () => failures.length > 0 || (!changing && members.every((m) => (m.removing ? m.removed : m.server !== undefined))), 10_000, 'membership settled, every member up', () =>
    members.map((m) => `${m.name}${m.removing ? (m.removed ? ' removed' : ' being removed') : m.server === undefined ? ' down' : ' up'}`).join(', '),
  );
  check(failures.length === 0, () => failures.join('; '));
  while (watches.length < watchCount) openWatch();
  const servers = live().map((m) => m.server!);
  const liveNames = live().map((m) => m.name);
  const state = (): string => servers.map((s, i) => `${liveNames[i]}: ${s.isLeader ? 'leader' : `follower of ${s.leaderId.toString(16)}`} term ${s.raftTerm} commit ${s.committedIndex} applied ${s.appliedIndex} revision ${s.kv.currentRevision}`).join('; ');
  await runUntil(queue, () => failures.length > 0 || servers.some((s) => s.isLeader) && new Set(servers.map((s) => s.kv.currentRevision)).size === 1 && servers.every((s) => s.appliedIndex === servers[0]!.appliedIndex), 10_000, 'convergence', state);
  check(failures.length === 0, () => failures.join('; '));
  // A linearizable read of the whole keyspace through every member, checked with the rest.
  const liveUrls = liveNames.map((n) => `http://${n}:2379`);
  // Learners serve serializable reads only (etcd's rule).
  const voterUrls = liveUrls.filter((_, i) => !servers[i]!.isLearner);
  const reader = simClients(peers, FIRST_CLIENT_ID - 1, voterUrls);
  for (const url of voterUrls) {
    const read = { type: 'range', key: PREFIX, end: PREFIX_END } as const;
    // Retried as a client would: a lossy link can lose a ReadIndex answer and its resend.
    let outcome: Outcome | undefined;
    for (let attempt = 0; attempt < FINAL_READ_ATTEMPTS && outcome?.status !== 'ok'; attempt++) {
      outcome = undefined;
      void recorder.record(-1, url, read, () => runRequest(reader.get(url)!, read, 1000, now)).then((o) => (outcome = o));
      await runUntil(queue, () => outcome !== undefined, 2000, `the final read on ${url}`, state);
    }
    check(outcome!.status === 'ok', () => `the final read on ${url} failed ${FINAL_READ_ATTEMPTS} times, last: ${JSON.stringify(outcome)} (${state()})`);
  }
  // Every watch reaches the final revision (or was canceled) and keeps etcd's guarantees.
  const finalRevision = servers[0]!.kv.currentRevision;
  const all = [reference, ...watches];
  await runUntil(queue, () => all.every((w) => w.finished || w.lastRevision >= finalRevision), 5000, `every watch reaching revision ${finalRevision}`, () =>
    all.filter((w) => !w.finished && w.lastRevision < finalRevision).map((w) => `watch ${w.record.id} on ${w.record.endpoint} at ${w.lastRevision}`).join(', '),
  );
  for (const w of all) w.close();
  const watchViolations = validateWatches({ watches: watches.map((w) => w.record), events: reference.record.responses.flatMap((r) => r.events), operations: recorder.operations });
  check(watchViolations.length === 0, () => `watch guarantees broken: ${watchViolations.slice(0, 3).map((v) => `${v.kind}${v.watchId === undefined ? '' : ` (watch ${v.watchId})`}: ${v.message}`).join('; ')}`);
  if (trace !== undefined) {
    // What the run did, in simulated time: every request and its outcome, every watch response, the members' end state.
    const infinity = (_k: string, v: unknown): unknown => (v === Number.POSITIVE_INFINITY ? 'Infinity' : v);
    for (const op of recorder.operations) trace(`op ${op.id} client ${op.client} ${op.endpoint ?? ''} ${op.callMs}..${op.returnMs} ${JSON.stringify(op.request)} ${JSON.stringify(op.outcome, infinity)}`);
    for (const w of all) for (const r of w.record.responses) trace(`watch ${w.record.id} ${w.record.endpoint} ${JSON.stringify(r)}`);
    trace(`end ${state()} hashes ${servers.map((s) => s.kv.hashKV(0).hash).join(' ')}`);
  }
  const linearizable = checkLinearizable(recorder.operations, { maxSteps: LINEARIZABILITY_STEPS, timeoutMs: 60_000 });
  check(linearizable.status !== 'violation', () => `not linearizable: ${linearizable.detail ?? ''}`);
  const hashes = servers.map((s) => s.kv.hashKV(0).hash);
  check(new Set(hashes).size === 1, () => `HashKV differs at revision ${servers[0]!.kv.currentRevision}: ${hashes.join(' ')}`);
  // Leases with expiry and keep-alives, outside the history the model checks.
  const leaseRng = rnd.fork();
  const leasePhase = await runLeasePhase({
    queue,
    peers,
    clientId: FIRST_CLIENT_ID - 4,
    endpoints: liveUrls,
    rng: leaseRng,
    now,
    servers: () => live().map((m) => m.server),
    crashOne: () => crashAndRestart(leaseRng.pick(live()), leaseRng),
    state,
  });
  check(failures.length === 0, () => failures.join('; '));
  const after = live().map((m) => m.server!);
  await runUntil(queue, () => new Set(after.map((s) => s.kv.currentRevision)).size === 1 && after.every((s) => s.appliedIndex === after[0]!.appliedIndex), 10_000, 'convergence after the lease phase', state);
  const leaseHashes = after.map((s) => s.kv.hashKV(0).hash);
  check(new Set(leaseHashes).size === 1, () => `HashKV differs after the lease phase at revision ${after[0]!.kv.currentRevision}: ${leaseHashes.join(' ')}`);
  return {
    members: names.length,
    membershipChanges: changes.length,
    slowDisks,
    leasesExpired: leasePhase.expired, ok: traffic.stats.ok, failed: traffic.stats.failed, unknown: traffic.stats.unknown, mix, crashes, partitions, compactions: compaction.done(), watches: watches.length, watchEvents: reference.record.responses.reduce((n, r) => n + r.events.length, 0), linearizability: linearizable.status, simulatedMs: queue.now };
}

/**
 * Compaction every `everyMs` (0: none), as the robustness scenarios do it: to 20 revisions
 * behind what the reference watch has seen (it must keep every event), through a random member,
 * recorded in the history.
 */
function startCompactor(
  everyMs: number,
  rng: RandomSource,
  reference: RecordedWatch,
  recorder: HistoryRecorder,
  clients: ReturnType<typeof simClients>,
  endpoints: readonly string[],
  sleep: (ms: number) => Promise<void>,
  now: () => number,
): { stop(): Promise<void>; done(): number } {
  let running = everyMs > 0;
  let compacted = 0;
  let done = 0;
  const loop = (async () => {
    while (running) {
      await sleep(everyMs);
      const target = reference.lastRevision - 20;
      if (!running || target <= compacted + 5) continue;
      const url = endpoints[rng.int(endpoints.length)]!;
      const request = { type: 'compact', revision: target } as const;
      const outcome = await recorder.record(-2, url, request, () => runRequest(clients.get(url)!, request, 1000, now));
      if (outcome.status === 'ok') {
        compacted = target;
        done++;
      }
    }
  })();
  return {
    stop: () => {
      running = false;
      return loop;
    },
    done: () => done,
  };
}
