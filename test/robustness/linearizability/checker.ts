/**
 * Linearizability of an etcd history: Wing & Gong's backtracking search with Lowe's memo, as
 * Porcupine does it. Calls and returns sit in one time-ordered list; the search linearizes any
 * operation whose call comes before the first return still in the list, removes it from the
 * list and starts over, and backtracks when nothing called by then fits (the operation
 * returning there would have to be linearized after something that came later). A (linearized
 * set, model state) pair that was explored before is not explored again. Unknown operations
 * never return; they are kept in a list of their own so that the search only walks them where
 * one of them may go, newest first.
 *
 * Ok operations must all be linearized; unknown ones may be, or may be left out.
 *
 * Before searching, direct checks (direct-checks.ts) look for violations the ok answers'
 * revisions prove on their own, which a search could take exponential time to establish.
 *
 * Pruning, all of it sound (it only drops orders that could not succeed, or that succeed
 * exactly when a kept order does):
 * - Revisions never go back, and every ok answer says which revision it was applied to (less
 *   one if it wrote). The model may not move past a revision while an ok operation that has to
 *   be applied at it is still waiting.
 * - An unknown operation is only linearized where it takes a new revision: one without visible
 *   effect (a delete of nothing, a failed compare with only reads, a revoke of an empty lease)
 *   changes nothing later operations can see, or only forbids some, so leaving it out is as good.
 *   Unknown reads, leaseGrants and compacts are dropped for the same reason.
 * - An unknown put whose value a linearizable read saw (values are unique per put) is only
 *   linearized right before the revision the read reported for it.
 * - An unknown write is not placed where the records it leaves disagree with one a read saw
 *   (KeyObservations), or with a read made before the next revision an unknown write could take
 *   once followed through the known writes (RevisionIndex).
 */
import type { KvRequest, KvResponse, Operation } from '../history.js';
import { describeOperation, describeResponse } from './describe.js';
import { findCertainViolation } from './direct-checks.js';
import { type ModelState, applyRequest, changedKeys, fingerprintA, fingerprintB, initialState, latestRevisionBefore, step } from './etcd-model.js';
import { SEED_A, SEED_B, avalanche } from './fingerprint.js';
import { KeyObservations } from './key-observations.js';
import { RevisionIndex } from './revision-index.js';

export interface CheckResult {
  status: 'ok' | 'violation' | 'timeout';
  /** For a violation: the longest linearizable prefix found and the ops that could not be placed next, for reports. */
  detail?: string;
  /** Ids of ok operations that could never be linearized at the deepest point of the search. */
  stuckOps?: number[];
  /** Operations linearized in the best attempt (0 when a direct check found the violation without searching). */
  linearized: number;
  durationMs: number;
}

export interface CheckOptions {
  /** Wall-clock budget for the search (default DEFAULT_TIMEOUT_MS); past it the result is 'timeout'. */
  readonly timeoutMs?: number;
  /** Budget in search steps (one step considers one operation at one point), for cut-offs that do not depend on the machine. */
  readonly maxSteps?: number;
  /** The store before the history began (default: empty, revision 1). */
  readonly initial?: ModelState;
  /** Whether to look for violations that need no search first (default true; false tests the search alone). */
  readonly directChecks?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/** How many of the last linearized operations a violation report shows. */
const REPORTED_PREFIX = 6;

/** The operations the search places, with what it knows about each ahead of time. */
interface SearchInput {
  readonly ops: Operation[];
  readonly requests: KvRequest[];
  /** The answer of an ok operation; undefined for an unknown one. */
  readonly responses: (KvResponse | undefined)[];
  /** For ok operations: latestRevisionBefore(answer). */
  readonly latestBefore: Float64Array;
  /** For unknown puts a read saw: the revision they must be applied to; NaN when unconstrained. */
  readonly requiredBefore: Float64Array;
  readonly revisions: RevisionIndex;
  readonly observations: KeyObservations;
}

function mayWrite(request: KvRequest): boolean {
  switch (request.type) {
    case 'put':
    case 'delete':
    case 'leaseRevoke':
      return true;
    case 'txn':
      return [...request.success, ...request.failure].some((op) => op.type !== 'get');
    default:
      return false;
  }
}

function prepare(history: readonly Operation[], initialRevision: number): SearchInput {
  const kept = history.filter((op) => {
    if (op.outcome.status === 'failed' || op.request.type === 'staleRange') return false;
    return op.outcome.status === 'ok' || mayWrite(op.request);
  });

  // Which values a linearizable read saw at which modRevision, and how many operations write
  // each value: a read pins an unknown put only if that put is the value's one writer.
  const seenAt = new Map<string, number>();
  const writers = new Map<string, number>();
  for (const op of kept) {
    const request = op.request;
    const written = new Set<string>();
    if (request.type === 'put') written.add(request.value);
    if (request.type === 'txn') for (const txnOp of [...request.success, ...request.failure]) if (txnOp.type === 'put') written.add(txnOp.value);
    for (const value of written) writers.set(value, (writers.get(value) ?? 0) + 1);
    if (op.outcome.status !== 'ok') continue;
    const response = op.outcome.response;
    const reads = response.type === 'range' ? [response.kvs] : response.type === 'txn' ? response.results.flatMap((r) => (r.type === 'get' ? [r.kvs] : [])) : [];
    for (const kvs of reads) for (const kv of kvs) if (!seenAt.has(kv.value)) seenAt.set(kv.value, kv.modRevision);
  }

  const latestBefore = new Float64Array(kept.length).fill(NaN);
  const requiredBefore = new Float64Array(kept.length).fill(NaN);
  kept.forEach((op, index) => {
    if (op.outcome.status === 'ok') {
      latestBefore[index] = latestRevisionBefore(op.outcome.response);
    } else if (op.request.type === 'put' && writers.get(op.request.value) === 1) {
      const seenRevision = seenAt.get(op.request.value);
      // A record from before the history (the initial state) is not this put's.
      if (seenRevision !== undefined && seenRevision > initialRevision) requiredBefore[index] = seenRevision - 1;
    }
  });
  return {
    ops: kept,
    requests: kept.map((op) => op.request),
    responses: kept.map((op) => (op.outcome.status === 'ok' ? op.outcome.response : undefined)),
    latestBefore,
    requiredBefore,
    revisions: new RevisionIndex(kept),
    observations: new KeyObservations(kept),
  };
}

/** A set of 64-bit fingerprints given as two 32-bit halves. */
class FingerprintSet {
  private readonly byHigh = new Map<number, number | Set<number>>();

  /** Returns false when the fingerprint was already there. */
  add(high: number, low: number): boolean {
    const existing = this.byHigh.get(high);
    if (existing === undefined) {
      this.byHigh.set(high, low);
      return true;
    }
    if (typeof existing === 'number') {
      if (existing === low) return false;
      this.byHigh.set(high, new Set([existing, low]));
      return true;
    }
    if (existing.has(low)) return false;
    existing.add(low);
    return true;
  }
}

/** Where the search got furthest before it had to back up, for the report. */
interface DeadEnd {
  readonly depth: number;
  readonly state: ModelState;
  readonly lastLinearized: number[];
  /** Search indices of the ok operations that could have come next. */
  readonly stuck: number[];
  /** Search indices of ok operations that must be applied at this revision, not yet linearized. */
  readonly overdue: number[];
}

const END = -1;

/**
 * A doubly linked list of nodes 1..size (0 is the head) that can take nodes out and put them
 * back: an unlinked node keeps its neighbours, so relinking in reverse order restores the list
 * (Knuth's dancing links).
 */
class DancingList {
  private readonly next: Int32Array;
  private readonly prev: Int32Array;

  constructor(size: number) {
    this.next = new Int32Array(size + 1);
    this.prev = new Int32Array(size + 1);
    for (let node = 0; node <= size; node++) {
      this.next[node] = node < size ? node + 1 : END;
      this.prev[node] = node - 1;
    }
  }

  first(): number {
    return this.next[0] as number;
  }

  after(node: number): number {
    return this.next[node] as number;
  }

  /** The node before, or 0 (the head) for the first. From an unlinked node this still ends at the nearest linked one before it. */
  before(node: number): number {
    return this.prev[node] as number;
  }

  unlink(node: number): void {
    const before = this.prev[node] as number;
    const following = this.next[node] as number;
    this.next[before] = following;
    if (following !== END) this.prev[following] = before;
  }

  relink(node: number): void {
    const following = this.next[node] as number;
    this.next[this.prev[node] as number] = node;
    if (following !== END) this.prev[following] = node;
  }
}

export function checkLinearizable(ops: readonly Operation[], options: CheckOptions = {}): CheckResult {
  const started = performance.now();
  const deadline = started + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const maxSteps = options.maxSteps ?? Infinity;
  const certain = options.directChecks === false ? undefined : findCertainViolation(ops);
  if (certain !== undefined) return { status: 'violation', detail: certain.detail, stuckOps: certain.ops, linearized: 0, durationMs: performance.now() - started };
  const initial = options.initial ?? initialState();
  const input = prepare(ops, initial.revision);
  const { requests, responses, latestBefore, requiredBefore, revisions, observations } = input;
  const count = input.ops.length;

  // Ok operations' calls and returns in one time-ordered list; a call at the same time as a
  // return counts as concurrent with it. Unknown operations never return and are only worth
  // trying where a revision is open, so they get a list of their own, in call order.
  const events: { time: number; isReturn: boolean; op: number }[] = [];
  const unknownOps: number[] = [];
  input.ops.forEach((op, index) => {
    if (responses[index] === undefined) {
      unknownOps.push(index);
      return;
    }
    events.push({ time: op.callMs, isReturn: false, op: index });
    // A return recorded before its call (clock trouble) is taken as returning when called.
    events.push({ time: Math.max(op.callMs, op.returnMs), isReturn: true, op: index });
  });
  events.sort((x, y) => x.time - y.time || Number(x.isReturn) - Number(y.isReturn) || x.op - y.op);
  unknownOps.sort((x, y) => (input.ops[x] as Operation).callMs - (input.ops[y] as Operation).callMs || x - y);

  const known = new DancingList(events.length);
  const entryOp = new Int32Array(events.length + 1);
  const entryTime = new Float64Array(events.length + 1);
  const entryIsReturn = new Uint8Array(events.length + 1);
  const callEntry = new Int32Array(count);
  const returnEntry = new Int32Array(count);
  events.forEach((event, i) => {
    const entry = i + 1;
    entryOp[entry] = event.op;
    entryTime[entry] = event.time;
    entryIsReturn[entry] = event.isReturn ? 1 : 0;
    if (event.isReturn) returnEntry[event.op] = entry;
    else callEntry[event.op] = entry;
  });
  const isLinearized = new Uint8Array(count);
  const unknown = new DancingList(unknownOps.length);
  const unknownNodeOp = new Int32Array(unknownOps.length + 1);
  const unknownCallMs = new Float64Array(unknownOps.length + 1);
  const unknownNode = new Int32Array(count);
  unknownOps.forEach((op, i) => {
    unknownNodeOp[i + 1] = op;
    unknownCallMs[i + 1] = (input.ops[op] as Operation).callMs;
    unknownNode[op] = i + 1;
  });
  /**
   * The unknown operation called last no later than `boundaryMs` and not linearized yet, or
   * END. Unknown operations are tried newest first: one whose client gave up took effect soon
   * after its call if at all, so those called long ago are the least likely to fit here.
   */
  const lastUnknownCalledBy = (boundaryMs: number): number => {
    let low = 1;
    let high = unknownOps.length + 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((unknownCallMs[middle] as number) <= boundaryMs) low = middle + 1;
      else high = middle;
    }
    let node = low - 1;
    while (node !== 0 && isLinearized[unknownNodeOp[node] as number] === 1) node = unknown.before(node);
    return node === 0 ? END : node;
  };
  const unknownBefore = (node: number): number => {
    const previous = unknown.before(node);
    return previous === 0 ? END : previous;
  };

  // Zobrist hashing of the linearized set: XOR in an operation's random word when placed.
  const zobristA = new Int32Array(count);
  const zobristB = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    zobristA[i] = avalanche(Math.imul(i + 1, 0x9e3779b1) ^ SEED_A);
    zobristB[i] = avalanche(Math.imul(i + 1, 0x85ebca77) ^ SEED_B);
  }

  // How many ok operations not yet linearized must be applied to each revision at the latest.
  const waitingAt = new Map<number, number>();
  // The same as lists, for reports.
  const knownByLatestBefore = new Map<number, number[]>();
  let remainingKnown = 0;
  for (let i = 0; i < count; i++) {
    if (responses[i] === undefined) continue;
    remainingKnown++;
    const revision = latestBefore[i] as number;
    waitingAt.set(revision, (waitingAt.get(revision) ?? 0) + 1);
    const sameRevision = knownByLatestBefore.get(revision);
    if (sameRevision === undefined) knownByLatestBefore.set(revision, [i]);
    else sameRevision.push(i);
  }
  const waiting = (revision: number): number => waitingAt.get(revision) ?? 0;
  const setLinearized = (op: number, linearized: boolean): void => {
    isLinearized[op] = linearized ? 1 : 0;
    if (responses[op] === undefined) return;
    const revision = latestBefore[op] as number;
    const delta = linearized ? -1 : 1;
    remainingKnown += delta;
    waitingAt.set(revision, waiting(revision) + delta);
  };

  let state = initial;
  let bitsA = 0;
  let bitsB = 0;
  // Whether the model may take a new revision without an ok operation's: only then may an unknown write go.
  let revisionOpen = waiting(state.revision) === 0;
  const memo = new FingerprintSet();
  const stackOps = new Int32Array(count);
  const stackStates: ModelState[] = new Array<ModelState>(count);
  let depth = 0;
  let deepest = 0;
  let deadEnd: DeadEnd | undefined;
  let steps = 0;

  const tryLinearize = (op: number): ModelState | undefined => {
    const current = state.revision;
    const response = responses[op];
    if (response === undefined) {
      if (!revisionOpen) return undefined;
      const required = requiredBefore[op] as number;
      if (!Number.isNaN(required) && required !== current) return undefined;
      const request = requests[op] as KvRequest;
      const after = step(state, request, undefined);
      if (after === undefined || after.revision !== current + 1) return undefined;
      const written = changedKeys(state, after, request);
      return observations.contradicts(after.revision, written) || revisions.contradicts(after.revision, written) ? undefined : after;
    }
    const after = step(state, requests[op] as KvRequest, response);
    if (after === undefined || after.revision === current) return after;
    const othersWaiting = waiting(current) - (latestBefore[op] === current ? 1 : 0);
    return othersWaiting > 0 ? undefined : after;
  };

  const noteDeadEnd = (): void => {
    if (deadEnd !== undefined && depth <= deadEnd.depth) return;
    const stuck: number[] = [];
    for (let entry = known.first(); entry !== END && entryIsReturn[entry] === 0; entry = known.after(entry)) stuck.push(entryOp[entry] as number);
    const lastLinearized = Array.from(stackOps.subarray(Math.max(0, depth - REPORTED_PREFIX), depth));
    const overdue = (knownByLatestBefore.get(state.revision) ?? []).filter((op) => isLinearized[op] === 0 && !stuck.includes(op));
    deadEnd = { depth, state, lastLinearized, stuck, overdue };
  };

  const result = (status: CheckResult['status']): CheckResult => {
    const durationMs = performance.now() - started;
    if (status === 'ok') return { status, linearized: depth, durationMs };
    if (status === 'timeout') {
      const spent = Number.isFinite(maxSteps) && steps > maxSteps ? `${maxSteps} steps` : `${Math.round(durationMs)} ms`;
      return { status, linearized: deepest, durationMs, detail: `gave up after ${spent}, ${deepest} of ${count} operations linearized at best` };
    }
    return { status, linearized: deepest, durationMs, ...describeDeadEnd(input, deadEnd) };
  };

  // The search's cursor: an entry of the ok list, or (past its first return) a node of the
  // unknown list, trying those called no later than that return.
  let inUnknowns = false;
  let entry = known.first();
  for (;;) {
    if (remainingKnown === 0) return result('ok');
    steps++;
    if (steps > maxSteps || ((steps & 1023) === 0 && performance.now() > deadline)) return result('timeout');

    let op: number;
    if (!inUnknowns) {
      if (entry === END || entryIsReturn[entry] === 1) {
        inUnknowns = true;
        entry = revisionOpen ? lastUnknownCalledBy(entry === END ? Infinity : (entryTime[entry] as number)) : END;
        continue;
      }
      op = entryOp[entry] as number;
    } else {
      if (entry === END) {
        // Nothing left to try here: the operation returning at the boundary would have to be
        // linearized after something that came later. Back up.
        noteDeadEnd();
        if (depth === 0) return result('violation');
        depth--;
        const undone = stackOps[depth] as number;
        state = stackStates[depth] as ModelState;
        bitsA ^= zobristA[undone] as number;
        bitsB ^= zobristB[undone] as number;
        setLinearized(undone, false);
        revisionOpen = waiting(state.revision) === 0;
        if (responses[undone] === undefined) {
          unknown.relink(unknownNode[undone] as number);
          entry = unknownBefore(unknownNode[undone] as number);
        } else {
          known.relink(returnEntry[undone] as number);
          known.relink(callEntry[undone] as number);
          inUnknowns = false;
          entry = known.after(callEntry[undone] as number);
        }
        continue;
      }
      op = unknownNodeOp[entry] as number;
    }

    const after = tryLinearize(op);
    if (after !== undefined) {
      const nextBitsA = bitsA ^ (zobristA[op] as number);
      const nextBitsB = bitsB ^ (zobristB[op] as number);
      if (memo.add(nextBitsA ^ fingerprintA(after), nextBitsB ^ fingerprintB(after))) {
        stackOps[depth] = op;
        stackStates[depth] = state;
        depth++;
        if (depth > deepest) deepest = depth;
        state = after;
        bitsA = nextBitsA;
        bitsB = nextBitsB;
        setLinearized(op, true);
        revisionOpen = waiting(state.revision) === 0;
        if (responses[op] === undefined) {
          unknown.unlink(unknownNode[op] as number);
        } else {
          known.unlink(callEntry[op] as number);
          known.unlink(returnEntry[op] as number);
        }
        inUnknowns = false;
        entry = known.first();
        continue;
      }
    }
    entry = inUnknowns ? unknownBefore(entry) : known.after(entry);
  }
}

function describeDeadEnd(input: SearchInput, deadEnd: DeadEnd | undefined): { detail: string; stuckOps: number[] } {
  if (deadEnd === undefined) return { detail: 'not linearizable', stuckOps: [] };
  const known = input.responses.filter((response) => response !== undefined).length;
  const unknown = input.ops.length - known;
  const lines = [`not linearizable: at best ${deadEnd.depth} of ${input.ops.length} operations (${known} ok, ${unknown} unknown) linearized, the model then at revision ${deadEnd.state.revision}`];
  if (deadEnd.lastLinearized.length > 0) {
    lines.push(`last linearized:`);
    for (const op of deadEnd.lastLinearized) lines.push(`  ${describeOperation(input.ops[op] as Operation)}`);
  }
  const describeWithModelAnswer = (op: number): void => {
    const response = input.responses[op] as KvResponse;
    const grantedId = response.type === 'leaseGrant' ? response.id : undefined;
    const modelAnswer = applyRequest(deadEnd.state, input.requests[op] as KvRequest, grantedId);
    lines.push(`  ${describeOperation(input.ops[op] as Operation)}`);
    lines.push(`    the model would answer: ${modelAnswer === undefined ? 'an error' : describeResponse(modelAnswer.response)}`);
  };
  lines.push(`could not place any of these next:`);
  deadEnd.stuck.forEach(describeWithModelAnswer);
  if (deadEnd.overdue.length > 0) {
    lines.push(`while these still had to be applied at revision ${deadEnd.state.revision}, so it could not move past it:`);
    deadEnd.overdue.forEach(describeWithModelAnswer);
  }
  const ids = [...deadEnd.stuck, ...deadEnd.overdue].map((op) => (input.ops[op] as Operation).id);
  return { detail: lines.join('\n'), stuckOps: ids };
}
