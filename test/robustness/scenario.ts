/**
 * One robustness scenario: a fresh kvfleet cluster (3 members, and proxies when asked), traffic
 * and watchers recorded for `durationMs` while faults are injected, then every check:
 * linearizability of the KV history, the watch guarantees against a reference watch, equal
 * HashKV on every member at one revision, and every proxy's cache equal to a member's state.
 * A failed scenario leaves its history, seed and a one-line reproduce command on disk.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { proto, SeededRandom } from '@kvfleet/core';
import { startCluster, type Cluster } from '../harness/cluster.js';
import { clusterClients, hashKV, localRevision, memberClients, prefixEnd, sleep, waitConverged, type MemberClients } from '../harness/kv-checks.js';
import { startProxies, type ProxyFleet } from '../harness/proxy.js';
import { isDiskFault, SmallDisk, type DiskFault } from './faults/disk-faults.js';
import { FAILPOINT_ENV, injectFailpointFault, isFailpointFault, type FailpointFault } from './faults/failpoint-faults.js';
import { injectMembershipFault, isMembershipFault, membershipNeedsFailpoints, type MembershipFault } from './faults/membership-faults.js';
import { isNetworkFault, needsFailpoints, PeerFronts, type NetworkFault } from './faults/network-faults.js';
import { injectProcessFault, type FaultTargets, type ProcessFault } from './faults/process-faults.js';
import type { WatchEventSeen } from './history.js';
import { runRequest } from './kv-client.js';
import { checkLinearizable, type CheckResult } from './linearizability/index.js';
import { HistoryRecorder, startTraffic, type TrafficMix } from './traffic.js';
import { validateWatches, type WatchViolation } from './watch-validator.js';
import { randomWatchSpec, RecordedWatch, waitWatchesReach } from './watchers.js';

export interface Scenario {
  readonly name: string;
  readonly mix: TrafficMix;
  /** Injected one after another, spread over the run. */
  readonly faults: readonly (ProcessFault | NetworkFault | FailpointFault | MembershipFault | DiskFault)[];
  readonly durationMs: number;
  readonly clients: number;
  readonly ratePerSec: number;
  readonly proxies: number;
  readonly watchers: number;
  /** Where traffic and watchers go: every member and proxy, or only the proxies. */
  readonly through?: 'all' | 'proxies';
  /** KVFLEET_FAILPOINTS for the proxies (known bugs, for the checkers-catch-bugs tests). */
  readonly proxyFailpoints?: string;
  readonly compactEveryMs?: number;
  /** Extra member flags (e.g. small snapshots, so catching up takes a snapshot). */
  readonly memberArgs?: readonly string[];
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly seed: number;
  readonly passed: boolean;
  readonly operations: { readonly ok: number; readonly failed: number; readonly unknown: number };
  readonly faults: readonly string[];
  readonly linearizability: CheckResult;
  readonly watchViolations: readonly WatchViolation[];
  readonly consistencyProblems: readonly string[];
  readonly watches: number;
  readonly eventsSeen: number;
  readonly durationMs: number;
  /** Where the history was written (failed scenarios, or when asked to keep it). */
  readonly artifacts: string | undefined;
  readonly reproduce: string;
}

export interface RunOptions {
  /** Failed scenarios' histories go under it. Default `<tmpdir>/kvfleet-robustness`. */
  readonly artifactsRoot?: string;
  readonly log?: (message: string) => void;
}

const PREFIX = 'rob/';

export function reproduceCommand(name: string, seed: number): string {
  return `npm run robustness -- --scenario ${name} --seed ${seed}`;
}

export async function runScenario(scenario: Scenario, seed: number, options: RunOptions = {}): Promise<ScenarioResult> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  const rng = new SeededRandom(seed);
  const dataRoot = await mkdtemp(join(tmpdir(), `kvfleet-robustness-${scenario.name}-`));
  let cluster: Cluster | undefined;
  let proxies: ProxyFleet | undefined;
  const closers: Array<() => void> = [];
  // Peer traffic goes through fault proxies only when the scenario has a network fault.
  const fronts = scenario.faults.some(isNetworkFault) ? new PeerFronts(rng.fork()) : undefined;
  let disk: SmallDisk | undefined;
  try {
    if (scenario.faults.some(isDiskFault)) disk = SmallDisk.mount(dataRoot);
    cluster = await startCluster({
      kind: 'kvfleet',
      size: 3,
      dataRoot,
      ...(scenario.memberArgs === undefined ? {} : { extraArgs: [...scenario.memberArgs] }),
      ...(fronts === undefined ? {} : { peerFront: fronts.front }),
      // Runtime failpoints only for scenarios that use them.
      ...(scenario.faults.some((f) => isFailpointFault(f) || needsFailpoints(f) || membershipNeedsFailpoints(f)) ? { env: FAILPOINT_ENV } : {}),
    });
    if (scenario.proxies > 0) {
      proxies = await startProxies(cluster, {
        count: scenario.proxies,
        dataRoot,
        ...(scenario.proxyFailpoints === undefined ? {} : { env: { KVFLEET_FAILPOINTS: scenario.proxyFailpoints } }),
      });
    }
    const members = clusterClients(cluster);
    closers.push(() => members.forEach((m) => m.close()));
    const memberUrls = cluster.clientUrls;
    // The model starts from an empty store at revision 1: a fresh cluster.
    const first = await localRevision(members[0]!.kv);
    if (first !== 1) throw new Error(`a fresh cluster should be at revision 1, not ${first}`);
    const endpoints = scenario.through === 'proxies' && proxies !== undefined ? proxies.clientUrls : [...memberUrls, ...(proxies?.clientUrls ?? [])];
    const end = Buffer.from(prefixEnd(PREFIX)).toString('utf8');
    const keys = [...Array.from({ length: 10 }, (_, i) => `${PREFIX}k${i}`), ...Array.from({ length: 5 }, (_, i) => `${PREFIX}pods/p${String(i).padStart(2, '0')}`)];

    // The reference: every event from the start, with prev_kv, from the members themselves.
    const reference = new RecordedWatch(0, memberUrls, 0, { key: PREFIX, end, startRevision: 2, prevKv: true, noPut: false, noDelete: false, progressNotify: true }, 500);
    closers.push(() => reference.close());
    const watches: RecordedWatch[] = [];
    let current = 1;
    const openWatch = () => {
      const w = new RecordedWatch(watches.length + 1, endpoints, rng.int(endpoints.length), randomWatchSpec(rng, PREFIX, end, current, keys), 300 + rng.int(700));
      watches.push(w);
      closers.push(() => w.close());
    };
    for (let i = 0; i < Math.ceil(scenario.watchers / 2); i++) openWatch();

    const recorder = new HistoryRecorder();
    const traffic = startTraffic({ endpoints, clients: scenario.clients, mix: scenario.mix, ratePerSec: scenario.ratePerSec, rng: rng.fork(), prefix: PREFIX }, recorder);

    // Compaction, never past what the reference watch has seen (it must keep every event).
    let compacted = 0;
    const compactor = (async () => {
      const every = scenario.compactEveryMs ?? 3_000;
      for (let t = every; t < scenario.durationMs; t += every) {
        await sleep(every);
        const target = reference.lastRevision - 50;
        if (target <= compacted + 10) continue;
        const pool = members[rng.int(members.length)]!;
        const outcome = await recorder.record(-1, 'compactor', { type: 'compact', revision: target }, () => runRequest(pool, { type: 'compact', revision: target }, 3_000));
        if (outcome.status === 'ok') compacted = target;
      }
    })();

    // Faults spread over the middle of the run; more watchers open while they happen.
    const faultLog: string[] = [];
    const faultErrors: string[] = [];
    const faulting = (async () => {
      const slot = scenario.durationMs / (scenario.faults.length + 1);
      for (const fault of scenario.faults) {
        await sleep(slot * (0.5 + rng.float() * 0.5));
        current = reference.lastRevision;
        for (let i = 0; i < Math.floor(scenario.watchers / 2 / Math.max(1, scenario.faults.length)); i++) openWatch();
        const description = await injectFault(fault, { cluster: cluster!, proxies, members, rng, fronts, disk });
        faultLog.push(description);
        log(`[${scenario.name}] ${description}`);
      }
    })().catch((e: unknown) => {
      // The cluster did not recover as expected (or the harness failed): the scenario fails with it.
      faultErrors.push(`fault injection failed: ${(e as Error).message.slice(0, 2_000)}`);
      log(`[${scenario.name}] ${faultErrors[0]!.slice(0, 300)}`);
    });
    await sleep(scenario.durationMs);
    await faulting;
    await compactor;
    await traffic.stop();
    while (watches.length < scenario.watchers) {
      current = reference.lastRevision;
      openWatch();
    }

    // Settle: every member up and equal; every watch caught up to the final revision. A cluster
    // that does not get there fails the scenario (with its history kept), not the whole run.
    let finalRevision = 0;
    let laggards: RecordedWatch[] = [];
    try {
      await cluster.waitHealthy();
      finalRevision = await waitConverged(members);
      laggards = await waitWatchesReach([reference, ...watches], finalRevision, 20_000);
    } catch (e) {
      faultErrors.push(`the cluster did not settle: ${(e as Error).message.slice(0, 2_000)}`);
    }
    for (const w of [reference, ...watches]) w.close();

    const operations = recorder.operations;
    const linearizability = checkLinearizable(operations, { timeoutMs: 120_000 });
    const referenceEvents: WatchEventSeen[] = reference.record.responses.flatMap((r) => r.events);
    const watchViolations = validateWatches({ watches: watches.map((w) => w.record), events: referenceEvents, operations });
    const consistencyProblems = [
      ...faultErrors,
      ...laggards.map((w) => `watch ${w.record.id} on ${w.record.endpoint} reached only revision ${w.lastRevision} of ${finalRevision}`),
      ...(finalRevision === 0 ? [] : await compareMembers(members, finalRevision)),
      ...(proxies === undefined || finalRevision === 0 ? [] : await compareProxies(proxies, members[0]!, finalRevision, end)),
    ];
    const counts = { ok: 0, failed: 0, unknown: 0 };
    for (const op of operations) counts[op.outcome.status]++;
    const passed = linearizability.status === 'ok' && watchViolations.length === 0 && consistencyProblems.length === 0;
    const result = {
      scenario: scenario.name,
      seed,
      passed,
      operations: counts,
      faults: faultLog,
      linearizability,
      watchViolations,
      consistencyProblems,
      watches: watches.length,
      eventsSeen: referenceEvents.length,
      durationMs: Math.round(performance.now() - started),
      reproduce: reproduceCommand(scenario.name, seed),
    };
    let artifacts: string | undefined;
    if (!passed) {
      artifacts = join(options.artifactsRoot ?? join(tmpdir(), 'kvfleet-robustness'), `${scenario.name}-${seed}`);
      await mkdir(artifacts, { recursive: true });
      await writeFile(join(artifacts, 'result.json'), JSON.stringify(result, null, 2));
      await writeFile(
        join(artifacts, 'history.json'),
        JSON.stringify({ scenario, seed, operations, watches: watches.map((w) => w.record), reference: reference.record }, (_k, v: unknown) => (v === Number.POSITIVE_INFINITY ? 'Infinity' : v)),
      );
      await writeFile(join(artifacts, 'reproduce.txt'), `${result.reproduce}\n`);
      await writeFile(join(artifacts, 'logs.txt'), `${cluster.logs(200_000)}\n${proxies?.logs(200_000) ?? ''}`);
    }
    return { ...result, artifacts };
  } finally {
    for (const close of closers) close();
    await proxies?.stop();
    await cluster?.stop();
    await fronts?.close();
    disk?.unmount();
    await rm(dataRoot, { recursive: true, force: true });
  }
}

interface FaultContext extends FaultTargets {
  readonly fronts: PeerFronts | undefined;
  readonly disk: SmallDisk | undefined;
}

/** Injects one fault of any kind; returns its one-line description. */
function injectFault(fault: Scenario['faults'][number], c: FaultContext): Promise<string> {
  if (isNetworkFault(fault)) return c.fronts!.inject(fault, c.cluster, c.members);
  if (isFailpointFault(fault)) return injectFailpointFault(fault, c.cluster, c.members, c.rng);
  if (isMembershipFault(fault)) return injectMembershipFault(fault, c.cluster, c.members, c.rng);
  if (isDiskFault(fault)) return c.disk!.fill(c.cluster, 1_000 + c.rng.int(2_000));
  return injectProcessFault(fault, c);
}

/** Every member's HashKV at `revision` must be equal. */
async function compareMembers(members: readonly MemberClients[], revision: number): Promise<string[]> {
  const hashes = await Promise.all(members.map((m) => hashKV(m.maintenance, revision).catch((e: Error) => e)));
  const problems = hashes.filter((h): h is Error => h instanceof Error).map((e) => `HashKV failed: ${e.message}`);
  const values = new Set(hashes.filter((h) => !(h instanceof Error)).map((h) => (h as { hash: number }).hash));
  if (values.size > 1) problems.push(`members' HashKV at revision ${revision} differ: ${[...values].join(', ')}`);
  return problems;
}

/** Every proxy, once at `revision`, must hold exactly what a member holds at it. */
async function compareProxies(proxies: ProxyFleet, member: MemberClients, revision: number, end: string): Promise<string[]> {
  const read = async (c: MemberClients, rev: number, serializable: boolean) => {
    const r = await proto.unaryCall(c.kv.Range.bind(c.kv), { key: Buffer.from(PREFIX), rangeEnd: Buffer.from(end), revision: rev, serializable }, undefined, { deadline: Date.now() + 5_000 });
    return { revision: proto.int64ToNumber(r.header?.revision ?? 0, 'revision'), kvs: JSON.stringify(r.kvs.map((kv) => [Buffer.from(kv.key).toString(), Buffer.from(kv.value).toString(), String(kv.modRevision), String(kv.createRevision), String(kv.version), String(kv.lease)])) };
  };
  const expected = await read(member, revision, true);
  const problems: string[] = [];
  for (const url of proxies.clientUrls) {
    const c = memberClients(url);
    try {
      let got = await read(c, 0, true);
      for (let i = 0; i < 50 && got.revision < revision; i++) {
        await sleep(100);
        got = await read(c, 0, true);
      }
      if (got.revision !== revision) problems.push(`proxy ${url} is at revision ${got.revision}, the members at ${revision}`);
      else if (got.kvs !== expected.kvs) problems.push(`proxy ${url}'s cache differs from the members' state at revision ${revision}`);
    } catch (e) {
      problems.push(`proxy ${url}: ${(e as Error).message}`);
    } finally {
      c.close();
    }
  }
  return problems;
}
