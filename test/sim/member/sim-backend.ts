/**
 * A simulated durable backend for whole-member simulation: the member's Backend, in memory, with
 * the crash semantics of a real one. A batch commits after a simulated disk delay, in call
 * order; a crash loses the batches still in flight (their promises never settle: the process
 * that waited is dead) and keeps every committed one, which the restarted member finds in the
 * same store.
 *
 * The store itself (a MemoryBackend) is the "disk" and outlives crashes; each incarnation of
 * the member gets its own handle on it, which dies with it.
 */
import { backend as backendNs, env } from '@kvfleet/server';

type Backend = backendNs.Backend;

export class SimDisk {
  /** The contents; survive every crash. */
  readonly store: Backend = backendNs.MemoryBackend.open();
  private handle: SimBackend | undefined;

  constructor(
    private readonly clock: env.Clock,
    /** The delay of the next commit, in simulated milliseconds. */
    private readonly commitDelay: () => number,
  ) {}

  /** The backend a (new) incarnation of the member opens. */
  open(): SimBackend {
    this.handle?.kill();
    this.handle = new SimBackend(this.store, this.clock, this.commitDelay);
    return this.handle;
  }

  /** Power loss: the open handle dies, and its batches in flight with it. */
  crash(): void {
    this.handle?.kill();
    this.handle = undefined;
  }
}

export class SimBackend implements Backend {
  readonly kind = 'memory' as const;
  private alive = true;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Backend,
    private readonly clock: env.Clock,
    private readonly commitDelay: () => number,
  ) {}

  kill(): void {
    this.alive = false;
  }

  readTxn(): backendNs.ReadView {
    this.check();
    return this.store.readTxn();
  }

  batch<T>(fn: (txn: backendNs.WriteTxn) => T): Promise<T> {
    this.check();
    const delay = this.commitDelay();
    const run = this.tail.then(async () => {
      await env.sleep(this.clock, delay);
      // A batch the crash caught in flight never commits, and its caller never hears back.
      if (!this.alive) return new Promise<T>(() => {});
      return this.store.batch(fn);
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  sizeBytes(): number {
    return this.store.sizeBytes();
  }

  sizeInUseBytes(): number {
    return this.store.sizeInUseBytes();
  }

  hash(): Promise<number> {
    this.check();
    return this.store.hash();
  }

  snapshot(): AsyncIterableIterator<Uint8Array> {
    this.check();
    return this.store.snapshot();
  }

  restore(stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<backendNs.RestoreResult> {
    this.check();
    return this.store.restore(stream);
  }

  defragment(): Promise<void> {
    this.check();
    return this.store.defragment();
  }

  /** A clean stop releases the handle; the store stays, as a data dir does. */
  async close(): Promise<void> {
    await this.tail;
    this.alive = false;
  }

  private check(): void {
    if (!this.alive) throw new backendNs.BackendError('ErrBackendClosed', 'the member that opened this backend crashed or stopped');
  }
}
