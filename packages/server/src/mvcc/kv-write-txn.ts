/**
 * The write transaction (etcd's kvstore_txn.go): changes are staged against the index and a
 * read view, and the store commits them as one revision.
 */
import { compareKeys, hexOf, inRange } from '@kvfleet/core';
import { type ReadView, checkBucket as checkBackendBucket, checkKey as checkBackendKey } from '../backend/backend.js';
import { MvccError } from './errors.js';
import { EMPTY, type RangeResult, type ReadOptions, checkKey, checkLimit, readRecord, shape } from './kv-read.js';
import type { KeyValue } from './kv-record.js';
import { KEY_BUCKET, META_BUCKET } from './store-meta.js';
import type { TreeIndex } from './tree-index.js';

export interface PutOptions {
  /** Lease id to attach; 0 or absent for none. */
  readonly lease?: number;
}

/** The operations available inside {@link KvStore.write}; valid only while the callback runs. */
export interface KvWriteTxn {
  /** Puts `value` under `key`, keeping createRevision and bumping version if the key is live. */
  put(key: Uint8Array, value: Uint8Array, options?: PutOptions): void;
  /** Deletes the live keys in `[key, end)` (TreeIndex's `end` conventions); returns how many. */
  deleteRange(key: Uint8Array, end?: Uint8Array): number;
  /** Reads the store as this write has changed it so far. */
  range(key: Uint8Array, end?: Uint8Array, options?: ReadOptions): RangeResult;
  /** The revision reads through this write see: the store's, plus one once it has changed something. */
  readonly revision: number;
  /**
   * Stores `value` under `key` in another module's `bucket` (not `key` or `meta`), in the same
   * batch as this write's KV changes and consistent index. Does not make a new revision.
   */
  putAux(bucket: string, key: Uint8Array, value: Uint8Array): void;
  /** Removes `key` from `bucket` in the same batch, like {@link putAux}. */
  deleteAux(bucket: string, key: Uint8Array): void;
  /**
   * Runs `fn` once the batch has committed and the store has published it, before `write`
   * resolves; never if the write fails. Lets in-memory state beside the store (the lessor)
   * change only with what is durable. Hooks run in registration order and must not throw.
   */
  onCommit(fn: () => void): void;
}

export interface AuxWrite {
  readonly bucket: string;
  readonly key: Uint8Array;
  readonly value: Uint8Array | undefined;
}

/** The latest state per key (hex) staged by writes not yet published: the put record, or null if deleted. */
export type Overlay = Map<string, { key: Uint8Array; kv: KeyValue | null }>;

export interface Change {
  readonly sub: number;
  readonly key: Uint8Array;
  readonly kv: KeyValue;
  readonly tombstone: boolean;
  readonly prevKv: KeyValue | undefined;
}

/**
 * The write transaction: changes are collected, not applied, so a throwing callback leaves
 * the store untouched. Reads merge the committed state (index + backend view at the base
 * revision) with an overlay of this transaction's latest change per key.
 */
export class WriteTxnImpl implements KvWriteTxn {
  readonly changes: Change[] = [];
  /** Other buckets' writes in call order; `value` undefined is a delete. */
  readonly aux: AuxWrite[] = [];
  readonly hooks: (() => void)[] = [];
  /** Latest state per key (hex) in this txn: the put record, or null if deleted. */
  private readonly overlay: Overlay = new Map();
  private open = true;

  constructor(
    private readonly index: TreeIndex,
    private readonly view: ReadView,
    private readonly base: number,
    /** What earlier writes of the same batch staged (they are not in the index yet). */
    private readonly earlier: Overlay,
  ) {}

  /** Adds this txn's changes to `into`, for the writes after it in a batch. */
  publishTo(into: Overlay): void {
    for (const [hex, o] of this.overlay) into.set(hex, o);
  }

  close(): void {
    this.open = false;
  }

  put(key: Uint8Array, value: Uint8Array, options: PutOptions = {}): void {
    this.check();
    checkKey(key);
    if (!(value instanceof Uint8Array)) throw new MvccError('ErrMvccInvalidArgument', 'value must be a Uint8Array');
    const lease = options.lease ?? 0;
    if (!Number.isSafeInteger(lease) || lease < 0) {
      throw new MvccError('ErrMvccInvalidArgument', `lease ${String(lease)} is not a non-negative safe integer`);
    }
    const prev = this.get(key);
    const rev = this.base + 1;
    const kv: KeyValue = {
      key: key.slice(),
      createRevision: prev === undefined ? rev : prev.createRevision,
      modRevision: rev,
      version: prev === undefined ? 1 : prev.version + 1,
      value: value.slice(),
      lease,
    };
    this.record(kv, false, prev);
  }

  deleteRange(key: Uint8Array, end?: Uint8Array): number {
    this.check();
    checkKey(key);
    const live = this.live(key, end);
    for (const prev of live) {
      const kv: KeyValue = { key: prev.key, createRevision: 0, modRevision: this.base + 1, version: 0, value: EMPTY, lease: 0 };
      this.record(kv, true, prev);
    }
    return live.length;
  }

  putAux(bucket: string, key: Uint8Array, value: Uint8Array): void {
    this.check();
    checkAux(bucket, key);
    if (!(value instanceof Uint8Array)) throw new MvccError('ErrMvccInvalidArgument', 'aux value must be a Uint8Array');
    // Copies: the caller may reuse its arrays before the batch runs.
    this.aux.push({ bucket, key: key.slice(), value: value.slice() });
  }

  deleteAux(bucket: string, key: Uint8Array): void {
    this.check();
    checkAux(bucket, key);
    this.aux.push({ bucket, key: key.slice(), value: undefined });
  }

  onCommit(fn: () => void): void {
    this.check();
    if (typeof fn !== 'function') throw new MvccError('ErrMvccInvalidArgument', 'commit hook must be a function');
    this.hooks.push(fn);
  }

  range(key: Uint8Array, end?: Uint8Array, options: ReadOptions = {}): RangeResult {
    this.check();
    checkKey(key);
    const limit = checkLimit(options.limit);
    const live = this.live(key, end);
    const revision = this.revision;
    if (options.countOnly === true) return { kvs: [], count: live.length, more: false, revision };
    const more = limit > 0 && live.length > limit;
    const kvs = (more ? live.slice(0, limit) : live).map((kv) => shape(kv, options.keysOnly === true));
    return { kvs, count: live.length, more, revision };
  }

  get revision(): number {
    return this.changes.length === 0 ? this.base : this.base + 1;
  }

  private check(): void {
    if (!this.open) throw new MvccError('ErrMvccInvalidArgument', 'write transaction used after its callback returned');
  }

  private record(kv: KeyValue, tombstone: boolean, prevKv: KeyValue | undefined): void {
    this.changes.push({ sub: this.changes.length, key: kv.key, kv, tombstone, prevKv });
    this.overlay.set(hexOf(kv.key), { key: kv.key, kv: tombstone ? null : kv });
  }

  /** The live record of `key` as this txn sees it. */
  private get(key: Uint8Array): KeyValue | undefined {
    const hex = hexOf(key);
    const o = this.overlay.get(hex) ?? this.earlier.get(hex);
    if (o !== undefined) return o.kv ?? undefined;
    const r = this.index.get(key, this.base);
    return r.found ? readRecord(this.view, r.modified) : undefined;
  }

  /** The live records in `[key, end)` as this txn sees them, in key order. */
  private live(key: Uint8Array, end: Uint8Array | undefined): KeyValue[] {
    if (end === undefined || end.length === 0) {
      // One key (the common case: every put looks up its key): no scan of the staged writes.
      const kv = this.get(key);
      return kv === undefined ? [] : [kv];
    }
    const out: KeyValue[] = [];
    for (const e of this.index.range(key, end, this.base).entries) {
      const hex = hexOf(e.key);
      if (!this.overlay.has(hex) && !this.earlier.has(hex)) out.push(readRecord(this.view, e.modified));
    }
    for (const [hex, { key: k, kv }] of this.earlier) {
      if (kv !== null && !this.overlay.has(hex) && inRange(k, key, end)) out.push(kv);
    }
    for (const { key: k, kv } of this.overlay.values()) {
      if (kv !== null && inRange(k, key, end)) out.push(kv);
    }
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }
}

/**
 * Validates an aux write up front, so a bad one fails the callback (writing nothing) rather than
 * the batch. The store's own buckets are refused: their contents must stay consistent with the
 * index and revisions.
 */
function checkAux(bucket: string, key: Uint8Array): void {
  if (bucket === KEY_BUCKET || bucket === META_BUCKET) {
    throw new MvccError('ErrMvccInvalidArgument', `bucket ${bucket} belongs to the KV store`);
  }
  try {
    checkBackendBucket(bucket);
    checkBackendKey(key);
  } catch (e) {
    throw new MvccError('ErrMvccInvalidArgument', e instanceof Error ? e.message : String(e), { cause: e });
  }
}

/**
 * Runs commit hooks after the write is published. Every hook runs even if one throws; the first
 * error is rethrown, though the write itself has committed (a throwing hook is a bug).
 */
export function runHooks(hooks: readonly (() => void)[]): void {
  let first: { error: unknown } | undefined;
  for (const h of hooks) {
    try {
      h();
    } catch (e) {
      first ??= { error: e };
    }
  }
  if (first !== undefined) throw first.error;
}
