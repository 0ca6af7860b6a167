/**
 * The lease phase of a whole-member run, after the history checks (lease expiry is outside the
 * linearizability model, which has no clock): leases with a short TTL, each with a key, one
 * kept alive through a keep-alive stream to any member (followers forward to the leader over the
 * peer Lease service), the others left to expire, maybe a member crash in between. Then, on
 * every member: the expired leases and their keys are gone, the kept one and its key are there.
 */
import type { proto, RandomSource } from '@kvfleet/core';
import type { etcdserver } from '@kvfleet/server';
import { runRequest } from '../../robustness/kv-client.js';
import type { KvRequest, KvResponse } from '../../robustness/history.js';
import type { EventQueue } from '../event-queue.js';
import type { SimEvent } from './sim-clock.js';
import type { SimPeers } from './sim-peers.js';
import { runUntil, simulate } from './sim-run.js';
import { simClients } from './sim-traffic.js';

export interface LeasePhaseContext {
  readonly queue: EventQueue<SimEvent>;
  readonly peers: SimPeers;
  /** Network id of the lease client. */
  readonly clientId: number;
  readonly endpoints: readonly string[];
  readonly rng: RandomSource;
  /** The simulated wall clock (request deadlines). */
  readonly now: () => number;
  /** The members' servers now (undefined while one is down). */
  readonly servers: () => readonly (etcdserver.EtcdServer | undefined)[];
  /** Crashes a random member, which restarts on its own shortly after. */
  readonly crashOne: () => void;
  readonly state: () => string;
}

export interface LeasePhaseStats {
  readonly kept: number;
  readonly expired: number;
  readonly crashed: boolean;
}

const TTL_SECONDS = 2;
const KEEP_ALIVE_EVERY_MS = 500;
const PREFIX = 'lease/';

export async function runLeasePhase(ctx: LeasePhaseContext): Promise<LeasePhaseStats> {
  const { queue, rng } = ctx;
  const sleep = (ms: number): Promise<void> => new Promise((r) => queue.schedule(ms, r));
  const clients = simClients(ctx.peers, ctx.clientId, ctx.endpoints);
  /** Sends `request` to random members until one succeeds (or, with `orLeaseGone`, its lease is found expired). */
  const retried = async (request: KvRequest, orLeaseGone = false): Promise<KvResponse | undefined> => {
    for (let attempt = 0; attempt < 30; attempt++) {
      const url = rng.pick(ctx.endpoints);
      const outcome = await runRequest(clients.get(url)!, request, 1000, ctx.now);
      if (outcome.status === 'ok') return outcome.response;
      if (orLeaseGone && outcome.status === 'failed' && outcome.error === 'etcdserver: requested lease not found') return undefined;
      await sleep(100);
    }
    throw new Error(`lease phase: ${JSON.stringify(request)} never succeeded`);
  };
  const leases = rng.pick([2, 3, 4]);
  const crashed = rng.chance(0.5);
  const ids: string[] = [];
  let stopKeepAlive = (): void => {};
  await simulate(
    queue,
    (async () => {
      for (let i = 0; i < leases; i++) {
        const granted = await retried({ type: 'leaseGrant', ttl: TTL_SECONDS });
        if (granted?.type !== 'leaseGrant') throw new Error('lease phase: not a grant');
        ids.push(granted.id);
        // Kept alive from its grant on: the puts may take longer than its TTL.
        if (i === 0) stopKeepAlive = keepAlive(ctx, granted.id);
        // A lease left to expire may do so before its put lands: then it has no key, as wanted.
        await retried({ type: 'put', key: `${PREFIX}k${i}`, value: `v${i}`, lease: granted.id }, i > 0);
      }
      await sleep(1000);
      if (crashed) ctx.crashOne();
      // Past every TTL, a leader change's extension included.
      await sleep(TTL_SECONDS * 1000 + 3000);
    })(),
    30_000,
    'the lease phase',
    ctx.state,
  );
  const toNumber = (id: string): number => Number(BigInt(id));
  const holds = (s: etcdserver.EtcdServer, i: number): { key: boolean; lease: boolean } => ({
    key: s.kv.range(new TextEncoder().encode(`${PREFIX}k${i}`)).kvs.length === 1,
    lease: s.lessor.lookup(toNumber(ids[i]!)) !== undefined,
  });
  const expected = (s: etcdserver.EtcdServer): boolean => ids.every((_, i) => {
    const h = holds(s, i);
    return i === 0 ? h.key && h.lease : !h.key && !h.lease;
  });
  const describe = (): string =>
    ctx
      .servers()
      .map((s, n) => (s === undefined ? `member ${n} down` : `member ${n}: ${ids.map((_, i) => JSON.stringify(holds(s, i))).join(' ')}`))
      .join('; ');
  await runUntil(queue, () => ctx.servers().every((s) => s !== undefined && expected(s)), 10_000, `the kept lease alive and the ${leases - 1} others revoked with their keys on every member`, describe);
  stopKeepAlive();
  return { kept: 1, expired: leases - 1, crashed };
}

/** Keeps lease `id` alive through a keep-alive stream to a random member, reopened elsewhere when it breaks; returns its stop. */
function keepAlive(ctx: LeasePhaseContext, id: string): () => void {
  let stopped = false;
  let call: ReturnType<proto.ServiceClient<'Lease'>['LeaseKeepAlive']> | undefined;
  const open = (): void => {
    if (stopped) return;
    const c = ctx.peers.clientOf(ctx.clientId, 'Lease', ctx.rng.pick(ctx.endpoints)).LeaseKeepAlive();
    call = c;
    const broken = (): void => {
      if (call !== c) return;
      call = undefined;
      ctx.queue.schedule(100, open);
    };
    c.on('error', (e: Error) => {
      if (process.env.SIM_LOG !== undefined) process.stderr.write(`${String(ctx.queue.now).padStart(6)} lease keep-alive stream broke: ${e.message}\n`);
      broken();
    });
    c.on('end', broken);
    c.on('data', (r: { TTL?: unknown }) => {
      if (process.env.SIM_LOG !== undefined) process.stderr.write(`${String(ctx.queue.now).padStart(6)} lease keep-alive answered TTL ${String(r.TTL)}\n`);
    });
  };
  const tick = (): void => {
    if (stopped) return;
    call?.write({ ID: id } as never);
    ctx.queue.schedule(KEEP_ALIVE_EVERY_MS, tick);
  };
  open();
  tick();
  return () => {
    stopped = true;
    call?.cancel();
  };
}
