/**
 * The storage backend of a Raft member: what etcd's bbolt backend is to its MVCC layer.
 *
 * Data lives in named **buckets**, each an ordered map from byte keys to byte values. Keys
 * are ordered by their bytes (unsigned, lexicographic; a key sorts before every longer key
 * it is a prefix of), the order of `Buffer.compare` and of LMDB's default comparator.
 *
 * A bucket exists exactly while it holds at least one key: there is no create/drop step,
 * and an empty bucket contributes nothing to `hash()` or `snapshot()`. That keeps two
 * implementations with the same contents indistinguishable.
 */
import { BackendError } from './errors.js';

/** Longest bucket name, in UTF-8 bytes. Names are short constants ("key", "meta", ...). */
export const MAX_BUCKET_NAME_BYTES = 64;
/**
 * Longest key, in bytes. LMDB's limit is 1978 bytes for the whole stored key, which in the
 * LMDB backend also holds the bucket name; 1024 leaves room and is far above MVCC's needs
 * (revision keys are 17 bytes, user keys are stored in values).
 */
export const MAX_KEY_BYTES = 1024;
/** Longest range bound: a key plus one byte, so "the key right after k" (k + 0x00) is a valid bound. */
export const MAX_BOUND_BYTES = MAX_KEY_BYTES + 1;

/** One stored pair. */
export interface KeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Which keys of one bucket a range returns: those `k` with `gte <= k < lt`. */
export interface RangeOptions {
  /** Inclusive lower bound; undefined (or empty) starts at the bucket's first key. */
  readonly gte?: Uint8Array;
  /** Exclusive upper bound; undefined runs to the bucket's last key. */
  readonly lt?: Uint8Array;
  /** At most this many pairs (an integer >= 1); undefined returns all of them. */
  readonly limit?: number;
  /** Descending order: the `limit` pairs nearest `lt` rather than nearest `gte`. */
  readonly reverse?: boolean;
}

/**
 * A consistent read view: every read through it sees the backend as it was when the view
 * was opened, however many batches commit meanwhile (snapshot isolation). A view must be
 * released; until then it pins the data it sees (memory in the memory backend, pages that
 * LMDB cannot reuse in the LMDB backend).
 *
 * Returned arrays are the caller's own: mutating them does not change stored data.
 */
export interface ReadView {
  /** The value of `key` in `bucket`, or undefined if there is none. */
  get(bucket: string, key: Uint8Array): Uint8Array | undefined;
  /** The pairs of `bucket` in the range, ascending by key (descending if `reverse`). */
  range(bucket: string, options?: RangeOptions): KeyValue[];
  /** The names of the buckets holding at least one key, ascending by their UTF-8 bytes. */
  buckets(): string[];
  /** Ends the view. Idempotent; any read after it throws ErrBackendClosed. */
  release(): void;
}

/**
 * The view handed to a `batch` callback. Its reads see the backend as of the start of the
 * batch **plus the batch's own writes so far** (read-your-writes), as a bbolt write
 * transaction does. It is valid only during the callback.
 */
export interface WriteTxn extends Omit<ReadView, 'release'> {
  /** Stores `value` under `key` in `bucket`, replacing any previous value. The arrays are copied. */
  put(bucket: string, key: Uint8Array, value: Uint8Array): void;
  /** Removes `key` from `bucket`; a key that is not there is not an error. */
  delete(bucket: string, key: Uint8Array): void;
}

/** What `restore` loaded. */
export interface RestoreResult {
  /** Number of pairs loaded. */
  readonly entries: number;
  /** `hash()` of the backend after the load. */
  readonly hash: number;
}

export type BackendKind = 'memory' | 'lmdb';

export interface Backend {
  /** Which implementation this is. */
  readonly kind: BackendKind;

  /** Opens a consistent read view of the current contents; see ReadView. Release it when done. */
  readTxn(): ReadView;

  /**
   * Runs `fn` as one write transaction and commits it. `fn` must be synchronous (returning a
   * promise is rejected with ErrBackendInvalidArgument and nothing is written), so no other
   * code can observe or interleave with a half-done batch.
   *
   * All of the batch's writes become visible together, or, if `fn` throws, none of them do
   * and the returned promise rejects with what `fn` threw. The promise resolves (to `fn`'s
   * result) only once the writes are durable: on disk for LMDB, committed for memory.
   * Batches commit in call order. A batch may not start another batch from inside `fn`.
   */
  batch<T>(fn: (txn: WriteTxn) => T): Promise<T>;

  /** Bytes the store occupies: for LMDB the file's allocated pages (it never shrinks by itself); for memory the high-water mark of `sizeInUseBytes()`. */
  sizeBytes(): number;

  /** Bytes that hold live data; the rest of `sizeBytes()` is free space a defragmentation could return. */
  sizeInUseBytes(): number;

  /**
   * A CRC-32 digest of every pair of every bucket, buckets ascending by name, keys ascending.
   * It depends only on the contents, so two backends of any kinds holding the same pairs
   * agree, and any change of a bucket, key or value changes it (up to CRC collisions).
   * Computed on one read view, so concurrent batches do not tear it.
   */
  hash(): Promise<number>;

  /**
   * The whole contents as a byte stream (format in snapshot-format.ts), taken from a read view
   * opened by this call, so it is a point-in-time copy however long it takes to consume.
   * It ends with a CRC-32 of the stream that `restore` verifies. Consume it to the end or
   * call its `return()` (a `break` in `for await` does) so the view is released.
   */
  snapshot(): AsyncIterableIterator<Uint8Array>;

  /**
   * Loads a stream made by `snapshot()` (of either implementation) into this backend, which
   * must be empty (ErrBackendNotEmpty otherwise). Chunk boundaries may fall anywhere. A
   * damaged, truncated or extended stream is rejected with ErrBackendSnapshotCorrupt and
   * leaves the backend empty. Batches may not run during a restore (ErrBackendBusy).
   */
  restore(stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<RestoreResult>;

  /**
   * Returns the free space of `sizeBytes()` to the operating system (Maintenance.Defragment).
   * Reads and batches go on meanwhile; the contents do not change. A call while one runs
   * joins it. Afterwards `sizeBytes()` is close to `sizeInUseBytes()`.
   */
  defragment(): Promise<void>;

  /**
   * Waits for committed batches, releases open read views and closes the store. Idempotent;
   * every later call except `close` throws (or rejects with) ErrBackendClosed.
   */
  close(): Promise<void>;
}

const utf8 = new TextEncoder();

/** Checks a bucket name and returns its UTF-8 bytes. */
export function checkBucket(bucket: string): Uint8Array {
  if (typeof bucket !== 'string' || bucket.length === 0) {
    throw new BackendError('ErrBackendInvalidArgument', 'bucket name must be a non-empty string');
  }
  // NUL is the separator between bucket and key in the LMDB backend's stored keys.
  if (bucket.includes('\0')) {
    throw new BackendError('ErrBackendInvalidArgument', 'bucket name must not contain NUL');
  }
  const bytes = utf8.encode(bucket);
  if (bytes.length > MAX_BUCKET_NAME_BYTES) {
    throw new BackendError('ErrBackendInvalidArgument', `bucket name longer than ${MAX_BUCKET_NAME_BYTES} bytes`);
  }
  return bytes;
}

/** Checks a key: a Uint8Array of 1..MAX_KEY_BYTES bytes (LMDB stores no empty key). */
export function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) {
    throw new BackendError('ErrBackendInvalidArgument', 'key must be a Uint8Array');
  }
  if (key.length === 0 || key.length > MAX_KEY_BYTES) {
    throw new BackendError('ErrBackendInvalidArgument', `key length ${key.length} not in 1..${MAX_KEY_BYTES}`);
  }
}

/** Checks a value: any Uint8Array, including an empty one. */
export function checkValue(value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) {
    throw new BackendError('ErrBackendInvalidArgument', 'value must be a Uint8Array');
  }
}

/** Checks range options; returns them with an empty `gte` normalized away. */
export function checkRange(options: RangeOptions | undefined): RangeOptions {
  const o = options ?? {};
  for (const [name, bound] of [['gte', o.gte], ['lt', o.lt]] as const) {
    if (bound === undefined) continue;
    if (!(bound instanceof Uint8Array)) {
      throw new BackendError('ErrBackendInvalidArgument', `${name} must be a Uint8Array`);
    }
    if (bound.length > MAX_BOUND_BYTES) {
      throw new BackendError('ErrBackendInvalidArgument', `${name} longer than ${MAX_BOUND_BYTES} bytes`);
    }
  }
  if (o.limit !== undefined && (!Number.isInteger(o.limit) || o.limit < 1)) {
    throw new BackendError('ErrBackendInvalidArgument', `limit must be an integer >= 1, got ${o.limit}`);
  }
  return o.gte !== undefined && o.gte.length === 0 ? { ...o, gte: undefined } : o;
}

