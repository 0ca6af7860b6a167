/**
 * Randomized client traffic for robustness scenarios, recorded as a history the checkers read.
 * Two mixes:
 * - etcd: single-key and prefix reads (linearizable and serializable), puts, deletes, 4-op txns,
 *   compare-and-swap on mod revision, puts with a lease, lease grants and revokes;
 * - kubernetes: list-heavy, with create/update/delete done as optimistic-concurrency txns on
 *   the object's mod revision.
 * Each client runs one operation at a time against one endpoint (pinned) or a random one
 * (spread), paced so all clients together stay near the configured rate.
 */
import { performance } from 'node:perf_hooks';
import type { RandomSource } from '@kvfleet/core';
import { memberClients, type MemberClients } from '../harness/kv-checks.js';
import type { KvRequest, KvResponse, Operation, Outcome } from './history.js';
import { runRequest } from './kv-client.js';

export type TrafficMix = 'etcd' | 'kubernetes';

export interface TrafficOptions {
  /** Client URLs of members and proxies. */
  readonly endpoints: readonly string[];
  readonly clients: number;
  readonly mix: TrafficMix;
  /** Operations per second over all clients. */
  readonly ratePerSec: number;
  readonly rng: RandomSource;
  readonly prefix: string;
  readonly timeoutMs?: number;
}

/** The history being recorded: operations in the order they returned (or were abandoned). */
export class HistoryRecorder {
  readonly operations: Operation[] = [];
  private nextId = 0;

  /** `now`: one monotonic clock in ms for every client (the simulator passes its own). */
  constructor(private readonly now: () => number = () => performance.now()) {}

  async record(client: number, endpoint: string, request: KvRequest, run: () => Promise<Outcome>): Promise<Outcome> {
    const id = this.nextId++;
    const callMs = this.now();
    const outcome = await run();
    const returnMs = outcome.status === 'unknown' ? Number.POSITIVE_INFINITY : this.now();
    this.operations.push({ id, client, request, callMs, returnMs, outcome, endpoint });
    return outcome;
  }
}

export interface RunningTraffic {
  stop(): Promise<void>;
  readonly stats: { ok: number; failed: number; unknown: number; errors: Map<string, number> };
}

const POD_COUNT = 40;
const KEY_COUNT = 10;
/** Long enough that no lease expires inside a scenario: the model has no clock. */
const LEASE_TTL = 3_600;

export function startTraffic(options: TrafficOptions, recorder: HistoryRecorder): RunningTraffic {
  const timeoutMs = options.timeoutMs ?? 3_000;
  const pools = options.endpoints.map((url) => ({ url, clients: memberClients(url) }));
  const stats = { ok: 0, failed: 0, unknown: 0, errors: new Map<string, number>() };
  const leases: string[] = [];
  let running = true;
  const intervalMs = (options.clients * 1000) / Math.max(1, options.ratePerSec);

  const loops = Array.from({ length: options.clients }, async (_, client) => {
    const rng = options.rng.fork();
    // Half the clients stay on one endpoint; the others pick one per operation.
    const pinned = client % 2 === 0 ? pools[client % pools.length]! : undefined;
    let seq = 0;
    const value = () => `c${client}-${seq++}`;
    const exec = async (request: KvRequest): Promise<KvResponse | undefined> => {
      const pool = pinned ?? pools[rng.int(pools.length)]!;
      const outcome = await recorder.record(client, pool.url, request, () => runRequest(pool.clients, request, timeoutMs));
      stats[outcome.status]++;
      if (outcome.status !== 'ok') {
        const key = outcome.error.slice(0, 100);
        stats.errors.set(key, (stats.errors.get(key) ?? 0) + 1);
        return undefined;
      }
      return outcome.response;
    };
    while (running) {
      const started = performance.now();
      await trafficStep(options.mix, exec, rng, options.prefix, value, leases);
      const wait = intervalMs * (0.5 + rng.float()) - (performance.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  });

  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(loops);
      for (const p of pools) p.clients.close();
    },
  };
}

/** Runs one request and returns its response, or undefined when it did not succeed. */
export type Exec = (request: KvRequest) => Promise<KvResponse | undefined>;

/**
 * One step of a client of `mix` (one to two requests): `value` names a value no other write
 * uses, `leases` are the leases this traffic granted and has not revoked (shared by clients).
 */
export function trafficStep(mix: TrafficMix, exec: Exec, rng: RandomSource, prefix: string, value: () => string, leases: string[]): Promise<void> {
  return mix === 'etcd' ? etcdStep(exec, rng, prefix, value, leases) : kubernetesStep(exec, rng, prefix, value);
}

async function etcdStep(exec: Exec, rng: RandomSource, prefix: string, value: () => string, leases: string[]): Promise<void> {
  const key = (): string => `${prefix}k${rng.int(KEY_COUNT)}`;
  const end = `${prefix}l`; // every `${prefix}k…` key sorts below it
  const roll = rng.int(100);
  if (roll < 18) await exec({ type: 'range', key: key() });
  else if (roll < 24) await exec({ type: 'range', key: `${prefix}k`, end });
  else if (roll < 32) await exec({ type: 'staleRange', key: key() });
  else if (roll < 55) await exec({ type: 'put', key: key(), value: value() });
  else if (roll < 61) await exec({ type: 'delete', key: key() });
  else if (roll < 69) {
    // Writes to distinct keys: etcd refuses a txn that writes one key twice.
    const first = rng.int(KEY_COUNT);
    const [a, c, d] = [0, 1, 2].map((i) => `${prefix}k${(first + i * 3) % KEY_COUNT}`) as [string, string, string];
    const b = key();
    await exec({
      type: 'txn',
      compares: [{ key: a, target: 'version', op: '>', against: 0 }],
      success: [{ type: 'put', key: a, value: value() }, { type: 'get', key: b }, { type: 'delete', key: c }, { type: 'put', key: d, value: value() }],
      failure: [{ type: 'put', key: a, value: value() }, { type: 'get', key: b }],
    });
  } else if (roll < 85) {
    // Compare-and-swap: read, then write only if nobody wrote in between.
    const k = key();
    const got = await exec({ type: 'range', key: k });
    if (got?.type !== 'range') return;
    const mod = got.kvs[0]?.modRevision ?? 0;
    await exec({ type: 'txn', compares: [{ key: k, target: 'mod', op: '=', against: mod }], success: [{ type: 'put', key: k, value: value() }], failure: [{ type: 'get', key: k }] });
  } else if (roll < 92) {
    const lease = leases[rng.int(Math.max(1, leases.length))];
    if (lease === undefined) return;
    await exec({ type: 'put', key: key(), value: value(), lease });
  } else if (roll < 96) {
    if (leases.length >= 5) return;
    const got = await exec({ type: 'leaseGrant', ttl: LEASE_TTL });
    if (got?.type === 'leaseGrant') leases.push(got.id);
  } else {
    const i = rng.int(Math.max(1, leases.length));
    const lease = leases[i];
    if (lease === undefined) return;
    leases.splice(i, 1);
    await exec({ type: 'leaseRevoke', id: lease });
  }
}

async function kubernetesStep(exec: Exec, rng: RandomSource, prefix: string, value: () => string): Promise<void> {
  const pods = `${prefix}pods/`;
  const pod = (): string => `${pods}p${String(rng.int(POD_COUNT)).padStart(2, '0')}`;
  const roll = rng.int(100);
  if (roll < 15) await exec({ type: 'range', key: pods, end: `${prefix}pods0` });
  else if (roll < 30) await exec({ type: 'staleRange', key: pods, end: `${prefix}pods0` });
  else if (roll < 40) await exec({ type: 'range', key: pod() });
  else if (roll < 60) {
    const k = pod();
    await exec({ type: 'txn', compares: [{ key: k, target: 'create', op: '=', against: 0 }], success: [{ type: 'put', key: k, value: value() }], failure: [{ type: 'get', key: k }] });
  } else {
    // Update or delete at the revision last read: the apiserver's GuaranteedUpdate.
    const k = pod();
    const got = await exec({ type: 'range', key: k });
    if (got?.type !== 'range' || got.kvs.length === 0) return;
    const mod = got.kvs[0]!.modRevision;
    const write = roll < 88 ? ({ type: 'put', key: k, value: value() } as const) : ({ type: 'delete', key: k } as const);
    await exec({ type: 'txn', compares: [{ key: k, target: 'mod', op: '=', against: mod }], success: [write], failure: [{ type: 'get', key: k }] });
  }
}

export type { MemberClients };
