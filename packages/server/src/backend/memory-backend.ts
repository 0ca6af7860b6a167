/**
 * The in-memory backend, for tests, the simulator and benchmarks: same contract as the LMDB
 * backend, nothing on disk.
 *
 * Each bucket is a pair of parallel arrays sorted by key (binary search, splice on insert).
 * Snapshot isolation is copy-on-write per bucket: a read view pins the buckets it sees, and
 * a batch that writes to a pinned bucket first copies it; an unpinned bucket is changed in
 * place with an undo log, so a batch that throws can be rolled back without copying.
 */
import { compareBytes, isThenable } from '@kvfleet/core';
import {
  checkBucket,
  checkKey,
  checkRange,
  checkValue,
  type Backend,
  type KeyValue,
  type RangeOptions,
  type ReadView,
  type RestoreResult,
  type WriteTxn,
} from './backend.js';
import { BackendError } from './errors.js';
import { decodeSnapshot, encodeSnapshot, hashBackend } from './snapshot-format.js';

/** Bytes counted per pair beyond its key and value, a rough stand-in for index overhead. */
const ENTRY_OVERHEAD_BYTES = 16;

class MemBucket {
  /** Open read views that can see this bucket object; while > 0 it must not change. */
  pins = 0;
  /** Key and value bytes plus per-entry overhead. */
  bytes = 0;

  constructor(
    readonly keys: Uint8Array[] = [],
    readonly values: Uint8Array[] = [],
  ) {}

  clone(): MemBucket {
    const b = new MemBucket(this.keys.slice(), this.values.slice());
    b.bytes = this.bytes;
    return b;
  }

  /** Index of `key` if present, else -(insertion point) - 1. */
  find(key: Uint8Array): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareBytes(this.keys[mid]!, key);
      if (c < 0) lo = mid + 1;
      else if (c > 0) hi = mid;
      else return mid;
    }
    return -lo - 1;
  }

  /** First index whose key is >= `key`. */
  lowerBound(key: Uint8Array): number {
    const i = this.find(key);
    return i >= 0 ? i : -i - 1;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const i = this.find(key);
    return i >= 0 ? this.values[i] : undefined;
  }

  /** Sets `key` and returns the previous value (undefined if it was absent). */
  set(key: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    const i = this.find(key);
    if (i >= 0) {
      const prev = this.values[i]!;
      this.values[i] = value;
      this.bytes += value.length - prev.length;
      return prev;
    }
    const at = -i - 1;
    this.keys.splice(at, 0, key);
    this.values.splice(at, 0, value);
    this.bytes += key.length + value.length + ENTRY_OVERHEAD_BYTES;
    return undefined;
  }

  /** Removes `key` and returns its value (undefined if it was absent). */
  remove(key: Uint8Array): Uint8Array | undefined {
    const i = this.find(key);
    if (i < 0) return undefined;
    const prev = this.values[i]!;
    this.keys.splice(i, 1);
    this.values.splice(i, 1);
    this.bytes -= key.length + prev.length + ENTRY_OVERHEAD_BYTES;
    return prev;
  }

  range(options: RangeOptions): KeyValue[] {
    const from = options.gte === undefined ? 0 : this.lowerBound(options.gte);
    const to = options.lt === undefined ? this.keys.length : this.lowerBound(options.lt);
    const out: KeyValue[] = [];
    if (from >= to) return out;
    const n = Math.min(to - from, options.limit ?? Infinity);
    for (let j = 0; j < n; j++) {
      const i = options.reverse === true ? to - 1 - j : from + j;
      out.push({ key: copy(this.keys[i]!), value: copy(this.values[i]!) });
    }
    return out;
  }
}

type Buckets = Map<string, MemBucket>;

/** A private copy as a plain Uint8Array (Buffer's `slice` would share memory instead). */
function copy(a: Uint8Array): Uint8Array {
  return new Uint8Array(a);
}

function bucketNames(buckets: Buckets): string[] {
  const names: string[] = [];
  for (const [name, b] of buckets) if (b.keys.length > 0) names.push(name);
  // Byte order of the UTF-8 names, the order the LMDB backend's stored keys have.
  return names.sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/** The reads shared by read views and write transactions: both look at one bucket map. */
abstract class MemReader {
  protected abstract readonly data: Buckets;
  /** Throws once the view or transaction is over. */
  protected abstract check(): void;

  get(bucket: string, key: Uint8Array): Uint8Array | undefined {
    this.check();
    checkBucket(bucket);
    checkKey(key);
    const v = this.data.get(bucket)?.get(key);
    return v === undefined ? undefined : copy(v);
  }

  range(bucket: string, options?: RangeOptions): KeyValue[] {
    this.check();
    checkBucket(bucket);
    // Validate before the lookup, so bad options fail even on a bucket that does not exist.
    const o = checkRange(options);
    return this.data.get(bucket)?.range(o) ?? [];
  }

  buckets(): string[] {
    this.check();
    return bucketNames(this.data);
  }
}

class MemReadView extends MemReader implements ReadView {
  private open = true;

  constructor(
    protected override readonly data: Buckets,
    private readonly onRelease: (view: MemReadView) => void,
  ) {
    super();
    for (const b of data.values()) b.pins++;
  }

  release(): void {
    if (!this.open) return;
    this.open = false;
    for (const b of this.data.values()) b.pins--;
    this.onRelease(this);
  }

  protected override check(): void {
    if (!this.open) throw new BackendError('ErrBackendClosed', 'read view released');
  }
}

/** One undoable in-place change: restore `key` of `bucket` to `prev` (absent if undefined). */
interface Undo {
  readonly bucket: MemBucket;
  readonly key: Uint8Array;
  readonly prev: Uint8Array | undefined;
}

class MemWriteTxn extends MemReader implements WriteTxn {
  /** The buckets this batch builds: starts as the committed map; replaced buckets are copies. */
  override readonly data: Buckets;
  /** Buckets this batch created or copied, so it may change them freely. */
  private readonly owned = new Set<MemBucket>();
  private readonly undo: Undo[] = [];
  open = true;

  constructor(base: Buckets) {
    super();
    this.data = new Map(base);
  }

  put(bucket: string, key: Uint8Array, value: Uint8Array): void {
    this.check();
    checkBucket(bucket);
    checkKey(key);
    checkValue(value);
    const b = this.writable(bucket);
    const prev = b.set(copy(key), copy(value));
    if (!this.owned.has(b)) this.undo.push({ bucket: b, key: copy(key), prev });
  }

  delete(bucket: string, key: Uint8Array): void {
    this.check();
    checkBucket(bucket);
    checkKey(key);
    const existing = this.data.get(bucket);
    if (existing === undefined || existing.find(key) < 0) return;
    const b = this.writable(bucket);
    const prev = b.remove(key);
    if (!this.owned.has(b)) this.undo.push({ bucket: b, key: copy(key), prev });
  }

  /** Undoes in-place changes, newest first; copies and new buckets are simply dropped. */
  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) {
      const u = this.undo[i]!;
      if (u.prev === undefined) u.bucket.remove(u.key);
      else u.bucket.set(u.key, u.prev);
    }
  }

  private writable(name: string): MemBucket {
    const b = this.data.get(name);
    if (b !== undefined && (this.owned.has(b) || b.pins === 0)) return b;
    // Absent, or visible to an open read view: write to a bucket of our own.
    const mine = b === undefined ? new MemBucket() : b.clone();
    this.owned.add(mine);
    this.data.set(name, mine);
    return mine;
  }

  protected override check(): void {
    if (!this.open) throw new BackendError('ErrBackendClosed', 'write transaction is over');
  }
}

export class MemoryBackend implements Backend {
  readonly kind = 'memory' as const;
  private current: Buckets = new Map();
  private readonly views = new Set<MemReadView>();
  private writing = false;
  private restoring = false;
  private closed = false;
  private highWater = 0;

  /** Opens an empty memory backend. */
  static open(): MemoryBackend {
    return new MemoryBackend();
  }

  /** See Backend.readTxn. */
  readTxn(): ReadView {
    this.checkOpen();
    // Inside a batch callback the committed buckets may be changing in place; read through the txn.
    if (this.writing) throw new BackendError('ErrBackendBusy', 'read view opened inside a batch callback');
    const view = new MemReadView(this.current, (v) => this.views.delete(v));
    this.views.add(view);
    return view;
  }

  /** See Backend.batch. Commits synchronously inside the call; the promise only reports it. */
  async batch<T>(fn: (txn: WriteTxn) => T): Promise<T> {
    this.checkOpen();
    if (this.writing) throw new BackendError('ErrBackendInvalidArgument', 'batch started inside a batch');
    if (this.restoring) throw new BackendError('ErrBackendBusy', 'restore in progress');
    const txn = new MemWriteTxn(this.current);
    this.writing = true;
    let result: T;
    try {
      result = fn(txn);
      if (isThenable(result)) {
        throw new BackendError('ErrBackendInvalidArgument', 'batch callback must be synchronous');
      }
    } catch (e) {
      txn.rollback();
      throw e;
    } finally {
      txn.open = false;
      this.writing = false;
    }
    for (const [name, b] of txn.data) if (b.keys.length === 0) txn.data.delete(name);
    this.current = txn.data;
    this.highWater = Math.max(this.highWater, this.sizeInUseBytes());
    return result;
  }

  /** See Backend.sizeBytes: the high-water mark of sizeInUseBytes. */
  sizeBytes(): number {
    this.checkOpen();
    return this.highWater;
  }

  /** See Backend.sizeInUseBytes: key and value bytes plus a fixed overhead per pair. */
  sizeInUseBytes(): number {
    this.checkOpen();
    let total = 0;
    for (const b of this.current.values()) total += b.bytes;
    return total;
  }

  /** See Backend.hash. */
  async hash(): Promise<number> {
    return hashBackend(this);
  }

  /** See Backend.snapshot. */
  snapshot(): AsyncIterableIterator<Uint8Array> {
    return encodeSnapshot(this.readTxn());
  }

  /** See Backend.restore. Builds the contents aside and installs them only once the stream is verified. */
  async restore(stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<RestoreResult> {
    this.checkOpen();
    if (this.writing || this.restoring) throw new BackendError('ErrBackendBusy', 'a batch or restore is in progress');
    if (bucketNames(this.current).length > 0) throw new BackendError('ErrBackendNotEmpty');
    this.restoring = true;
    try {
      const built: Buckets = new Map();
      const entries = decodeSnapshot(stream);
      let step = await entries.next();
      while (step.done !== true) {
        for (const e of step.value) {
          let b = built.get(e.bucket);
          if (b === undefined) built.set(e.bucket, (b = new MemBucket()));
          // Entries arrive in ascending order, so each one is appended.
          b.keys.push(e.key);
          b.values.push(e.value);
          b.bytes += e.key.length + e.value.length + ENTRY_OVERHEAD_BYTES;
        }
        step = await entries.next();
      }
      this.checkOpen();
      this.current = built;
      this.highWater = Math.max(this.highWater, this.sizeInUseBytes());
      return { entries: step.value, hash: await this.hash() };
    } finally {
      this.restoring = false;
    }
  }

  /** See Backend.close. */
  /** See Backend.defragment: nothing to copy; the size falls back to the live data, as LMDB's does. */
  defragment(): Promise<void> {
    this.checkOpen();
    this.highWater = this.sizeInUseBytes();
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const v of [...this.views]) v.release();
    this.current = new Map();
  }

  private checkOpen(): void {
    if (this.closed) throw new BackendError('ErrBackendClosed');
  }
}
