/**
 * Linearizable reads by ReadIndex, batched as etcd does: at most one ReadIndex request is in
 * flight; every read that arrives while it is out waits for the next one, so a burst of N
 * reads costs two rounds to the leader, not N.
 *
 * A round resolves when the Raft read state for it arrives and the applied index reaches the
 * read index. A request can be lost (sent to a leader that just died, dropped while no leader is
 * known), and every later read queues behind its round, so the round's request is sent again
 * every `retryMs` and at once when the leader changes, as etcd's read loop does. Any answer to
 * it is valid: each was asked after every reader in the round arrived. A round that still gets
 * no answer fails after `roundTimeoutMs`; its readers see the error and may retry.
 */

/** A request-context prefix unique to one member's process: its id, then 32 random bits drawn at start. */
export function readContextPrefix(memberId: number, random32: number): Uint8Array {
  const b = Buffer.alloc(12);
  b.writeBigUInt64BE(BigInt(memberId));
  b.writeUInt32BE(random32 >>> 0, 8);
  return b;
}

export interface ReadBarrierDeps {
  /** Sends a ReadIndex request tagged with `ctx` (throws if no leader is known). */
  requestReadIndex(ctx: Uint8Array): void;
  /** Resolves once the state machine has applied `index`. */
  waitApplied(index: number): Promise<void>;
  /** Errors to fail a round with. */
  timeoutError(): Error;
  setTimer(fn: () => void, ms: number): { cancel(): void };
}

interface Round {
  readonly ctx: string;
  readonly waiters: { resolve(): void; reject(e: unknown): void }[];
  timer?: { cancel(): void };
  retry?: { cancel(): void };
}

/** etcd's readIndexRetryTime. */
const DEFAULT_RETRY_MS = 500;

export class ReadBarrier {
  private inFlight: Round | undefined;
  private next: Round | undefined;
  private seq = 0;

  /**
   * `ctxPrefix` starts every round's request context. A read state is matched to its round by
   * context alone, so contexts must differ between members and between a member's restarts, or
   * a late answer meant for another process settles this one's round with an older index (etcd
   * tags them with the member id and a time): give readContextPrefix's.
   */
  constructor(
    private readonly deps: ReadBarrierDeps,
    private readonly roundTimeoutMs: number,
    private readonly retryMs = DEFAULT_RETRY_MS,
    private readonly ctxPrefix: Uint8Array = new Uint8Array(0),
  ) {}

  /** Resolves when a read started now may be served from local state. */
  wait(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.next ??= { ctx: this.newCtx(), waiters: [] };
      this.next.waiters.push({ resolve, reject });
      this.startNext();
    });
  }

  /** A read state arrived from Raft. */
  onReadState(index: number, ctx: Uint8Array): void {
    const round = this.inFlight;
    if (round === undefined || Buffer.from(ctx).toString('latin1') !== round.ctx) return;
    this.settle(round);
    this.deps.waitApplied(index).then(
      () => round.waiters.forEach((w) => w.resolve()),
      (e: unknown) => round.waiters.forEach((w) => w.reject(e)),
    );
    this.startNext();
  }

  /** The leader changed: a request sent to the old one may be lost, so ask the new one now. */
  leaderChanged(): void {
    if (this.inFlight !== undefined) this.resend(this.inFlight);
  }

  /** Fails everything waiting (shutdown). */
  failAll(error: unknown): void {
    for (const round of [this.inFlight, this.next]) {
      if (round === undefined) continue;
      this.settle(round);
      round.waiters.forEach((w) => w.reject(error));
    }
    this.inFlight = undefined;
    this.next = undefined;
  }

  private startNext(): void {
    if (this.inFlight !== undefined || this.next === undefined) return;
    const round = this.next;
    this.next = undefined;
    this.inFlight = round;
    round.timer = this.deps.setTimer(() => this.fail(round, this.deps.timeoutError()), this.roundTimeoutMs);
    try {
      this.deps.requestReadIndex(Buffer.from(round.ctx, 'latin1'));
    } catch (e) {
      this.fail(round, e);
      return;
    }
    this.armRetry(round);
  }

  private armRetry(round: Round): void {
    round.retry = this.deps.setTimer(() => this.resend(round), this.retryMs);
  }

  private resend(round: Round): void {
    if (this.inFlight !== round) return;
    round.retry?.cancel();
    try {
      this.deps.requestReadIndex(Buffer.from(round.ctx, 'latin1'));
    } catch {
      // No leader yet: the next retry or the leader change asks again; the round timeout bounds it.
    }
    this.armRetry(round);
  }

  /** Stops the round's timers; it is no longer the one in flight. */
  private settle(round: Round): void {
    round.timer?.cancel();
    round.retry?.cancel();
    if (this.inFlight === round) this.inFlight = undefined;
  }

  private fail(round: Round, error: unknown): void {
    this.settle(round);
    round.waiters.forEach((w) => w.reject(error));
    this.startNext();
  }

  private newCtx(): string {
    this.seq += 1;
    // 8 bytes after the prefix: enough to tell rounds apart for the life of the process.
    const b = Buffer.alloc(this.ctxPrefix.length + 8);
    b.set(this.ctxPrefix);
    b.writeDoubleBE(this.seq, this.ctxPrefix.length);
    return b.toString('latin1');
  }
}
