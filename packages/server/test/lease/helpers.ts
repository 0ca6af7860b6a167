import type { Backend } from '../../src/backend/backend.js';
import { MemoryBackend } from '../../src/backend/memory-backend.js';
import { KvStore, type WriteResult } from '../../src/mvcc/kv-store.js';
import { type KvWriteTxn } from '../../src/mvcc/kv-write-txn.js';
import { Lessor, type LessorOptions } from '../../src/lease/lessor.js';

/** A settable monotonic clock in ms. */
export class FakeClock {
  constructor(public t = 1_000_000) {}
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A key from text. */
export function k(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

export function str(key: Uint8Array): string {
  return Buffer.from(key).toString('latin1');
}

/** A lessor over a memory KvStore, with a helper applying one "entry" per write. */
export interface Fixture {
  readonly clock: FakeClock;
  readonly backend: Backend;
  readonly store: KvStore;
  readonly lessor: Lessor;
  apply<T>(fn: (txn: KvWriteTxn) => T): Promise<WriteResult<T>>;
}

export async function fixture(options: Partial<LessorOptions> = {}, backend: Backend = MemoryBackend.open()): Promise<Fixture> {
  const clock = new FakeClock();
  const store = await KvStore.open(backend);
  const lessor = new Lessor({ now: clock.now, minTtlSeconds: 2, ...options });
  return {
    clock,
    backend,
    store,
    lessor,
    apply: (fn) => store.write({ consistentIndex: store.consistentIndex.consistentIndex + 1, consistentTerm: 1 }, fn),
  };
}

/** The apply loop's Put and DeleteRange, under the names the tests use. */
export { putLeased as putWithLease, deleteRangeLeased as deleteWithLeases } from '../../src/lease/leased-writes.js';

/** Catches what `f` throws. */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

export async function rejected(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}
