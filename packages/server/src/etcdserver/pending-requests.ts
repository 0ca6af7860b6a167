/**
 * Proposals waiting for their entry to be applied, by request id. The applier settles them
 * with the result it computed; every member applies every entry, but only the member that
 * proposed one has a waiter for it.
 */
export class PendingRequests<T> {
  private readonly waiting = new Map<number, { resolve(v: T): void; reject(e: unknown): void }>();
  private nextSeq = 0;

  /**
   * Request ids: a random 21-bit prefix chosen at start (so ids from different members and
   * restarts do not collide in practice) followed by a 32-bit counter; 53 bits, exact in JS.
   */
  constructor(private readonly prefix: number) {}

  get size(): number {
    return this.waiting.size;
  }

  /**
   * A fresh id and the promise its apply settles. `R` is what the settler answers this id
   * with (the result of the request proposed under it): the one place that relation is taken
   * on trust, so callers need no casts.
   */
  register<R extends T = T>(): { id: number; done: Promise<R> } {
    this.nextSeq = (this.nextSeq + 1) % 2 ** 32;
    const id = this.prefix * 2 ** 32 + this.nextSeq;
    const done = new Promise<R>((resolve, reject) => this.waiting.set(id, { resolve: resolve as (v: T) => void, reject }));
    // Failed before the caller awaits it (failAll while the proposer waits for a leader): that
    // must not be an unhandled rejection, which ends a Node process. The caller still sees it.
    done.catch(() => undefined);
    return { id, done };
  }

  settle(id: number, outcome: { ok: true; value: T } | { ok: false; error: unknown }): void {
    const w = this.waiting.get(id);
    if (w === undefined) return;
    this.waiting.delete(id);
    if (outcome.ok) w.resolve(outcome.value);
    else w.reject(outcome.error);
  }

  /** Gives up on `id` (timeout, canceled call): a later apply of it is ignored. */
  forget(id: number): void {
    this.waiting.delete(id);
  }

  /** Fails every waiter, e.g. on shutdown. */
  failAll(error: unknown): void {
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
  }
}
