/**
 * Random histories that are linearizable by construction, for testing the checker: simulated
 * clients call, take effect (in the model, one at a time) and return in a random interleaving,
 * so the order in which operations took effect is a linearization that respects real time.
 */
import type { KvRequest, KvResponse, Operation, Outcome, TxnOp } from '../history.js';
import { type ModelState, applyRequest, initialState } from './etcd-model.js';
import { entries, lookup } from './ordered-map.js';

export interface RandomHistoryOptions {
  readonly seed: number;
  readonly clients: number;
  readonly operations: number;
  /** Distinct keys the traffic uses (few keys, many conflicts). Default 8. */
  readonly keys?: number;
  /** Fraction of operations whose outcome is unknown; half of those took effect. Default 0. */
  readonly unknownRate?: number;
}

export interface RandomHistory {
  readonly ops: Operation[];
  /** The model after every operation that took effect. */
  readonly final: ModelState;
}

/** A small seeded PRNG (mulberry32): floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Plan = 'ok' | 'unknown-applied' | 'unknown-lost';

interface InFlight {
  readonly id: number;
  readonly request: KvRequest;
  readonly callMs: number;
  readonly plan: Plan;
  applied: boolean;
  response?: KvResponse;
}

export function randomHistory(options: RandomHistoryOptions): RandomHistory {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const keyCount = options.keys ?? 8;
  const unknownRate = options.unknownRate ?? 0;
  const key = (): string => `key-${Math.floor(random() * keyCount)}`;
  let state = initialState();
  let values = 0;
  let leaseIds = 0;
  const value = (): string => `value-${options.seed}-${values++}`;

  const liveLeases = (): string[] => entries(state.leases).map(([id]) => id);

  const txnWrite = (): TxnOp => (random() < 0.8 ? { type: 'put', key: key(), value: value() } : { type: 'delete', key: key() });

  const randomRequest = (): KvRequest => {
    const roll = random();
    if (roll < 0.3) {
      const leases = liveLeases();
      const lease = leases.length > 0 && random() < 0.15 ? pick(leases) : undefined;
      return lease === undefined ? { type: 'put', key: key(), value: value() } : { type: 'put', key: key(), value: value(), lease };
    }
    if (roll < 0.55) {
      if (random() < 0.7) return { type: 'range', key: key() };
      return random() < 0.5 ? { type: 'range', key: 'key-', end: 'key.' } : { type: 'range', key: key(), end: '\0' };
    }
    if (roll < 0.6) return { type: 'staleRange', key: key() };
    if (roll < 0.68) return random() < 0.8 ? { type: 'delete', key: key() } : { type: 'delete', key: key(), end: key() };
    if (roll < 0.8) {
      // Compare-and-swap on the mod revision the client last saw (possibly stale by the time it applies).
      const target = key();
      const record = lookup(state.keys, target);
      const against = random() < 0.8 ? (record?.modRevision ?? 0) : Math.floor(random() * state.revision);
      return { type: 'txn', compares: [{ key: target, target: 'mod', op: '=', against }], success: [{ type: 'put', key: target, value: value() }], failure: [{ type: 'get', key: target }] };
    }
    if (roll < 0.86) {
      const target = key();
      const record = lookup(state.keys, target);
      return {
        type: 'txn',
        compares: record !== undefined && random() < 0.7 ? [{ key: target, target: 'value', op: '=', against: record.value }] : [{ key: target, target: 'version', op: '>', against: 0 }],
        success: random() < 0.5 ? [txnWrite(), { type: 'get', key: target }] : [{ type: 'get', key: target }],
        failure: random() < 0.5 ? [txnWrite()] : [],
      };
    }
    if (roll < 0.92) return { type: 'leaseGrant', ttl: 60 };
    if (roll < 0.96) {
      const leases = liveLeases();
      return { type: 'leaseRevoke', id: leases.length > 0 && random() < 0.9 ? pick(leases) : String(9_000_000_000 + Math.floor(random() * 10)) };
    }
    return { type: 'compact', revision: 1 + Math.floor(random() * state.revision) };
  };

  const apply = (flight: InFlight): void => {
    flight.applied = true;
    if (flight.plan === 'unknown-lost') return;
    const grantedId = flight.request.type === 'leaseGrant' ? String(7_000_000_000 + leaseIds++) : undefined;
    const applied = applyRequest(state, flight.request, grantedId);
    if (applied === undefined) return; // etcd would answer an error: a failed operation
    state = applied.state;
    // A stale read's answer is not checked; it gets the current one.
    flight.response = applied.response;
  };

  const ops: Operation[] = [];
  const clients: (InFlight | undefined)[] = new Array<InFlight | undefined>(options.clients).fill(undefined);
  // Unknown operations whose client gave up before they took effect; they still may, any time later.
  const orphans: InFlight[] = [];
  let started = 0;
  let now = 0;
  for (;;) {
    const idle: number[] = [];
    const toApply: number[] = [];
    const toReturn: number[] = [];
    clients.forEach((flight, client) => {
      if (flight === undefined) idle.push(client);
      else if (flight.applied) toReturn.push(client);
      else {
        toApply.push(client);
        if (flight.plan !== 'ok') toReturn.push(client);
      }
    });
    if (started >= options.operations) idle.length = 0;
    const choices = [
      ...idle.map((c) => ['call', c] as const),
      ...toApply.map((c) => ['apply', c] as const),
      ...toReturn.map((c) => ['return', c] as const),
      ...orphans.map((_, i) => ['orphan', i] as const),
    ];
    if (choices.length === 0) break;
    // Some steps take no time, so calls and returns sometimes tie.
    now += random() < 0.1 ? 0 : 1 + Math.floor(random() * 3);
    const [action, index] = pick(choices);

    if (action === 'orphan') {
      apply(orphans.splice(index, 1)[0] as InFlight);
      continue;
    }
    const client = index;
    if (action === 'call') {
      const roll = random();
      const plan: Plan = roll < unknownRate / 2 ? 'unknown-applied' : roll < unknownRate ? 'unknown-lost' : 'ok';
      clients[client] = { id: started++, request: randomRequest(), callMs: now, plan, applied: false };
      continue;
    }
    const flight = clients[client] as InFlight;
    if (action === 'apply') {
      apply(flight);
      continue;
    }
    const unknown = flight.plan !== 'ok';
    if (unknown && !flight.applied && flight.plan === 'unknown-applied') orphans.push(flight);
    const outcome: Outcome = unknown
      ? { status: 'unknown', error: 'timed out' }
      : flight.response === undefined
        ? { status: 'failed', error: 'rejected' }
        : { status: 'ok', response: flight.response };
    ops.push({ id: flight.id, client, request: flight.request, callMs: flight.callMs, returnMs: unknown ? Infinity : now, outcome });
    clients[client] = undefined;
  }
  ops.sort((a, b) => a.id - b.id);
  return { ops, final: state };
}
