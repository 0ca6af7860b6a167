import { bytesEqual } from './util.js';

/** One ReadIndex request: who asked (this node or a follower) and the caller's opaque context. */
export interface ReadRequest {
  readonly from: number;
  readonly ctx: Uint8Array;
}

interface Round {
  readonly ctx: Uint8Array;
  readonly index: number;
  readonly requests: ReadRequest[];
  readonly acks: Set<number>;
}

/**
 * Batches ReadIndex requests into heartbeat rounds (Raft thesis §6.4). At most one round is in
 * flight; requests arriving meanwhile queue and all ride the next round. A round confirms
 * leadership only for requests that arrived before it started, so a request never joins a
 * round already in flight.
 */
export class ReadOnly {
  private queued: ReadRequest[] = [];
  private inflight: Round | undefined = undefined;
  private nextRoundId = 1;

  constructor(
    private readonly maxPending: number,
    private readonly isQuorum: (acks: ReadonlySet<number>) => boolean,
  ) {}

  /** Queues a request; false when the queue is full (the request is dropped). */
  enqueue(r: ReadRequest): boolean {
    if (this.queued.length >= this.maxPending) return false;
    this.queued.push(r);
    return true;
  }

  /**
   * Starts a round for the queued requests at commit index `index`, returning the heartbeat
   * context that identifies it, or undefined if a round is in flight or nothing is queued.
   */
  startRound(index: number): Uint8Array | undefined {
    if (this.inflight !== undefined || this.queued.length === 0) return undefined;
    const ctx = encodeRoundId(this.nextRoundId++);
    this.inflight = { ctx, index, requests: this.queued, acks: new Set() };
    this.queued = [];
    return ctx;
  }

  /** The context of the round in flight, if any. */
  inflightContext(): Uint8Array | undefined {
    return this.inflight?.ctx;
  }

  /** Records a heartbeat acknowledgement; calls `onDone` when the round reaches a quorum. */
  recvAck(from: number, ctx: Uint8Array, onDone: (done: { index: number; requests: ReadRequest[] }) => void): void {
    const round = this.inflight;
    if (round === undefined || !bytesEqual(round.ctx, ctx)) return;
    round.acks.add(from);
    if (!this.isQuorum(round.acks)) return;
    this.inflight = undefined;
    onDone({ index: round.index, requests: round.requests });
  }

  /** Leadership changed: every pending request is dropped (callers time out and retry). */
  reset(): void {
    this.queued = [];
    this.inflight = undefined;
  }

  pendingCount(): number {
    return this.queued.length + (this.inflight?.requests.length ?? 0);
  }
}

const ROUND_MARKER = 0x52; // 'R'

function encodeRoundId(id: number): Uint8Array {
  const b = new Uint8Array(9);
  b[0] = ROUND_MARKER;
  new DataView(b.buffer).setFloat64(1, id);
  return b;
}
