/**
 * The revisioned key-value store of a Raft member: what etcd's mvcc store is to etcd.
 *
 * Data lives in a {@link Backend}: bucket `key` maps each change's encoded revision (with the
 * tombstone marker for deletes) to its {@link KeyValue} record, bucket `meta` holds the Raft
 * consistent index/term and the compaction revisions (store-meta.ts). A {@link TreeIndex} in
 * memory maps (key, revision) to the backend revision to read; it is rebuilt from bucket `key`
 * by {@link KvStore.open}.
 *
 * Writes: each {@link KvStore.write} call is one main revision, its changes numbered by sub
 * revision, committed together with the consistent index/term in one backend batch. So after
 * a crash the stored consistent index names exactly the last Raft entry whose effects are on
 * disk: the apply loop skips entries at or below it and re-applies the rest. Other modules'
 * state that an entry changes (leases) rides in the same batch via the txn's aux writes.
 *
 * Concurrency: writes and compactions are queued and run one at a time. The index and the
 * in-memory revisions change only after a batch has committed, and reads are synchronous, so
 * a read never sees a change that is not durable, nor half of a write call.
 */
import { type Backend, type ReadView, checkBucket as checkBackendBucket, checkKey as checkBackendKey } from '../backend/backend.js';
import { MvccError } from './errors.js';
import { type KeyValue, decodeKeyValue, encodeKeyValue } from './kv-record.js';
import { compareKeys, crc32, hexOf, isThenable, keySuccessor, type KvEvent, failpointsOn, hit } from '@kvfleet/core';
import { type Revision, decodeRevision, encodeRevision } from './revision.js';
import {
  KEY_BUCKET,
  META_BUCKET,
  META_CONSISTENT_INDEX,
  META_CONSISTENT_TERM,
  META_FINISHED_COMPACT_REV,
  META_REPLAYABLE_COMPACT_REV,
  META_SCHEDULED_COMPACT_REV,
  decodeU64,
  encodeU64,
} from './store-meta.js';
import { TreeIndex } from './tree-index.js';

/** The Raft position of the entry a write applies. */
export interface ConsistentIndex {
  readonly consistentIndex: number;
  readonly consistentTerm: number;
}

export interface PutOptions {
  /** Lease id to attach; 0 or absent for none. */
  readonly lease?: number;
}

export interface ReadOptions {
  /** Most kvs to return; 0 or absent for no limit. */
  readonly limit?: number;
  /** Return only the count (kvs empty). */
  readonly countOnly?: boolean;
  /** Return kvs with empty values. */
  readonly keysOnly?: boolean;
}

export interface RangeOptions extends ReadOptions {
  /** Store revision to read at; 0 or absent for the current one. */
  readonly revision?: number;
}

export interface RangeResult {
  /** Visible kvs in key byte order, at most `limit`. */
  readonly kvs: KeyValue[];
  /** Every visible key in the range, regardless of the limit. */
  readonly count: number;
  /** True if the limit cut `kvs` short. */
  readonly more: boolean;
  /** The store revision the read was served at (the current revision, as in etcd). */
  readonly revision: number;
}

/** One change, as a watch layer delivers it. */
export type { KvEvent } from '@kvfleet/core';

export interface WriteResult<T> {
  /** The store revision after the write: new if anything changed, else unchanged. */
  readonly revision: number;
  /** The changes in sub-revision order. */
  readonly events: KvEvent[];
  /** What the callback returned. */
  readonly result: T;
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

export interface HashKvResult {
  /** CRC-32 of the records in (compactRevision, revision] plus compactRevision. */
  readonly hash: number;
  readonly compactRevision: number;
  readonly revision: number;
}

export interface HistoryOptions {
  /** Most events to return (whole revisions only, see {@link KvStore.history}); 0 or absent for no limit. */
  readonly limit?: number;
  /** Attach each event's previous value of its key (see {@link KvStore.previousKeyValue}). */
  readonly prevKv?: boolean;
}

export interface HistoryResult {
  /** The changes in revision order (main, then sub). */
  readonly events: KvEvent[];
  /**
   * The last main revision the result covers: every change up to it from `fromRev` is in
   * `events`. Below `toRev` only when the limit cut the read short; continue from it + 1.
   */
  readonly lastRevision: number;
}

/** Records deleted per backend batch during compaction: bounds batch size and pause length. */
export const COMPACT_BATCH_LIMIT = 1000;
/** Records read per range call when scanning bucket `key`. */
const SCAN_PAGE = 1000;
const EMPTY = new Uint8Array(0);

interface AuxWrite {
  readonly bucket: string;
  readonly key: Uint8Array;
  readonly value: Uint8Array | undefined;
}

export interface BatchWrite<T> {
  readonly ci: ConsistentIndex;
  readonly fn: (txn: KvWriteTxn) => T;
}

export interface BatchOutcome<T> {
  /** The writes made, in order: a prefix of the batch. */
  readonly written: WriteResult<T>[];
  /** The write whose callback threw, if one did; nothing of it or after it was made. */
  readonly failed?: { readonly error: unknown };
}

/** The latest state per key (hex) staged by writes not yet published: the put record, or null if deleted. */
type Overlay = Map<string, { key: Uint8Array; kv: KeyValue | null }>;

interface Change {
  readonly sub: number;
  readonly key: Uint8Array;
  readonly kv: KeyValue;
  readonly tombstone: boolean;
  readonly prevKv: KeyValue | undefined;
}

export class KvStore {
  private readonly index = new TreeIndex();
  /** etcd starts an empty store at revision 1; the first change is revision 2. */
  private current = 1;
  private compacted = 0;
  /**
   * True when the compaction at {@link compacted} kept every record with that main revision,
   * so history can be read from it (see {@link runCompaction}); true for a never compacted store.
   */
  private compactedReplayable = true;
  private consistent: ConsistentIndex = { consistentIndex: 0, consistentTerm: 0 };
  /** Tail of the queue of writes and compactions. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly backend: Backend) {}

  /**
   * Opens the store on `backend`: rebuilds the index from bucket `key` in revision order,
   * recovers revisions and the consistent index, and finishes a compaction a crash cut short.
   */
  static async open(backend: Backend): Promise<KvStore> {
    const store = new KvStore(backend);
    const view = backend.readTxn();
    let scheduled: number;
    let finished: number;
    let replayable: number;
    try {
      store.consistent = {
        consistentIndex: decodeU64(view.get(META_BUCKET, META_CONSISTENT_INDEX), 'consistentIndex'),
        consistentTerm: decodeU64(view.get(META_BUCKET, META_CONSISTENT_TERM), 'consistentTerm'),
      };
      scheduled = decodeU64(view.get(META_BUCKET, META_SCHEDULED_COMPACT_REV), 'scheduledCompactRev');
      finished = decodeU64(view.get(META_BUCKET, META_FINISHED_COMPACT_REV), 'finishedCompactRev');
      replayable = decodeU64(view.get(META_BUCKET, META_REPLAYABLE_COMPACT_REV), 'replayableCompactRev');
      for (const { rev, tombstone, kv } of scanRecords(view, undefined, undefined)) {
        if (tombstone) {
          // A partly finished compaction deletes in revision order and may leave a tombstone
          // whose puts are gone; it is at or below the compaction revision, so dropping it is
          // what finishing the compaction (below) would do anyway.
          if (store.index.keyIndex(kv.key)?.isLive() === true) store.index.tombstone(kv.key, rev);
        } else {
          store.index.put(kv.key, rev);
        }
        store.current = rev.main;
      }
    } finally {
      view.release();
    }
    store.compacted = Math.max(finished, scheduled);
    // Decided before the compaction deleted anything (runCompaction) and stored beside
    // scheduledCompactRev: a resumed compaction may already have deleted what it looked at.
    store.compactedReplayable = store.compacted === 0 || replayable === store.compacted;
    // Compaction may have deleted the newest records (a deleted key's tombstone), so the last
    // record can be below the compaction revision; revisions never go backwards.
    if (store.current < store.compacted) store.current = store.compacted;
    if (scheduled > finished) {
      await store.runCompaction(scheduled, store.compactedReplayable);
    } else if (finished > 0) {
      store.index.compact(finished);
    }
    return store;
  }

  /** The store revision of the last write that changed something; 1 for a store never written (as etcd). */
  get currentRevision(): number {
    return this.current;
  }

  /** The revision of the last compaction (scheduled or finished); reads below it fail. */
  get compactRevision(): number {
    return this.compacted;
  }

  /**
   * The oldest revision {@link history} can start from: the compact revision when its
   * compaction kept every change made at that revision (no delete there, as etcd serves it),
   * else compact revision + 1. At least 1.
   */
  get firstHistoryRevision(): number {
    return Math.max(1, this.compactedReplayable ? this.compacted : this.compacted + 1);
  }

  /** The Raft index/term of the last applied write. */
  get consistentIndex(): ConsistentIndex {
    return this.consistent;
  }

  /**
   * Reads `[key, end)` at `options.revision` (default current). Throws `ErrFutureRev` above the
   * current revision and `ErrCompacted` below the compact revision (reading exactly at it is
   * allowed, as in etcd: compaction keeps what is visible there).
   */
  range(key: Uint8Array, end?: Uint8Array, options: RangeOptions = {}): RangeResult {
    checkKey(key);
    const rev = this.resolveRevision(options.revision);
    const limit = checkLimit(options.limit);
    if (options.countOnly === true) {
      return { kvs: [], count: this.index.countRevisions(key, end, rev), more: false, revision: this.current };
    }
    const { entries, more } = this.index.range(key, end, rev, { limit });
    const count = more ? this.index.countRevisions(key, end, rev) : entries.length;
    const view = this.backend.readTxn();
    try {
      const kvs = entries.map((e) => shape(readRecord(view, e.modified), options.keysOnly === true));
      return { kvs, count, more, revision: this.current };
    } finally {
      view.release();
    }
  }

  /**
   * Runs `fn` against a write transaction and commits its changes as one new revision (none if
   * nothing changed), together with `ci`, in one backend batch. `fn` must be synchronous. If it
   * throws, or the commit fails, nothing changes and the promise rejects with that error.
   * `ci.consistentIndex` may not go below the stored one (`ErrMvccInvalidArgument`).
   */
  write<T>(ci: ConsistentIndex, fn: (txn: KvWriteTxn) => T): Promise<WriteResult<T>> {
    return this.enqueue(() => this.runWrite(ci, fn));
  }

  /**
   * Several writes in one backend commit, so a burst of applied entries pays one fsync instead
   * of one each. Each callback sees the writes before it as if they had committed. All become
   * visible once durable, published in order, `onPublished` called after each one (where
   * write() would have resolved). A callback that throws stops the batch: the writes before it
   * are made, it and the ones after are not, and `failed` carries its error.
   */
  writeBatch<T>(items: readonly BatchWrite<T>[], onPublished?: (i: number, r: WriteResult<T>) => void): Promise<BatchOutcome<T>> {
    return this.enqueue(() => this.runWriteBatch(items, onPublished));
  }

  /**
   * Compacts at `rev`: afterwards reads below `rev` fail with `ErrCompacted` and the records
   * no read at or above `rev` can see are deleted from the backend, in batches of
   * {@link COMPACT_BATCH_LIMIT}. Resolves when the deletion has finished.
   */
  compact(rev: number): Promise<void> {
    return this.enqueue(async () => {
      checkRevisionNumber(rev);
      if (rev <= this.compacted) throw new MvccError('ErrCompacted');
      if (rev > this.current) throw new MvccError('ErrFutureRev');
      await this.runCompaction(rev, this.keepsWholeRevision(rev));
    });
  }

  /**
   * A CRC-32 over bucket `key`'s records with main revision in (compactRevision, rev], in
   * revision order, then the compact revision: two members with the same history agree.
   * `rev` 0 means the current revision.
   */
  hashKV(rev = 0): HashKvResult {
    const at = this.resolveRevision(rev);
    const compactRevision = this.compacted;
    const view = this.backend.readTxn();
    let crc = 0;
    try {
      const gte = encodeRevision({ main: compactRevision + 1, sub: 0 });
      const lt = encodeRevision({ main: at + 1, sub: 0 });
      for (const { key, value } of scanRaw(view, gte, lt)) {
        // Lengths before bytes, so no two different record sequences feed the same stream.
        crc = crc32(encodeU64(key.length), crc);
        crc = crc32(key, crc);
        crc = crc32(encodeU64(value.length), crc);
        crc = crc32(value, crc);
      }
    } finally {
      view.release();
    }
    crc = crc32(encodeU64(compactRevision), crc);
    return { hash: crc, compactRevision, revision: at };
  }

  /**
   * The changes with main revision in [fromRev, toRev] in revision order, read from bucket
   * `key`: how a watch catches up. With a limit, stops before a revision that would take the
   * result past `limit` events, so each revision's changes come all or none (a watcher sees a
   * transaction whole); a first revision larger than the limit comes whole anyway, so a caller
   * always makes progress.
   *
   * Throws `ErrCompacted` if `fromRev < compactRevision`, and if `fromRev === compactRevision`
   * unless that compaction kept every change at it ({@link firstHistoryRevision}). etcd serves a
   * watch from exactly its compact revision because etcd's compaction keeps a tombstone at that
   * revision; ours drops it (key-index.ts rule 1), so history from there is served only when
   * revision C deleted nothing (see {@link runCompaction}), never with a silently missing delete.
   * Events at the compact revision carry no prevKv (revision C - 1 is compacted), as in etcd.
   * Throws `ErrFutureRev` if `toRev` is above the current revision.
   */
  history(fromRev: number, toRev: number, options: HistoryOptions = {}): HistoryResult {
    checkRevisionNumber(fromRev);
    checkRevisionNumber(toRev);
    const limit = checkLimit(options.limit);
    if (fromRev < 1) throw new MvccError('ErrMvccInvalidArgument', 'history starts at revision 1 or later');
    if (toRev > this.current) throw new MvccError('ErrFutureRev');
    if (fromRev < this.firstHistoryRevision) throw new MvccError('ErrCompacted');
    const events: KvEvent[] = [];
    if (fromRev > toRev) return { events, lastRevision: toRev };
    const view = this.backend.readTxn();
    try {
      const gte = encodeRevision({ main: fromRev, sub: 0 });
      const lt = encodeRevision({ main: toRev + 1, sub: 0 });
      // The revision being read is collected apart until it is known to fit the limit.
      let group: KvEvent[] = [];
      let groupRev = 0;
      for (const { rev, tombstone, kv } of scanRecords(view, gte, lt)) {
        if (rev.main !== groupRev) {
          for (const e of group) events.push(e);
          group = [];
          if (limit > 0 && events.length >= limit) return { events, lastRevision: rev.main - 1 };
          groupRev = rev.main;
        }
        if (limit > 0 && events.length > 0 && events.length + group.length + 1 > limit) {
          return { events, lastRevision: groupRev - 1 };
        }
        const type = tombstone ? 'delete' : 'put';
        const prevKv = options.prevKv === true ? this.prevKvAt(view, type, kv) : undefined;
        group.push(prevKv === undefined ? { type, kv } : { type, kv, prevKv });
      }
      for (const e of group) events.push(e);
      return { events, lastRevision: toRev };
    } finally {
      view.release();
    }
  }

  /**
   * The value `event.kv.key` had just before the event: the key read at its revision - 1.
   * Undefined if the key did not exist then, if that revision is compacted, or if the event
   * created the key (etcd skips the read for create events too).
   */
  prevKvOf(event: KvEvent): KeyValue | undefined {
    const view = this.backend.readTxn();
    try {
      return this.prevKvAt(view, event.type, event.kv);
    } finally {
      view.release();
    }
  }

  private prevKvAt(view: ReadView, type: KvEvent['type'], kv: KeyValue): KeyValue | undefined {
    if (type === 'put' && kv.createRevision === kv.modRevision) return undefined;
    const at = kv.modRevision - 1;
    if (at < 1 || at < this.compacted) return undefined;
    const r = this.index.get(kv.key, at);
    return r.found ? readRecord(view, r.modified) : undefined;
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    // The queue must go on after a failed task; the caller still sees the failure via `run`.
    this.queue = run.catch(() => undefined);
    return run;
  }

  private resolveRevision(rev: number | undefined): number {
    if (rev === undefined || rev === 0) return this.current;
    checkRevisionNumber(rev);
    if (rev > this.current) throw new MvccError('ErrFutureRev');
    if (rev < this.compacted) throw new MvccError('ErrCompacted');
    return rev;
  }

  private async runWrite<T>(ci: ConsistentIndex, fn: (txn: KvWriteTxn) => T): Promise<WriteResult<T>> {
    const outcome = await this.runWriteBatch([{ ci, fn }]);
    if (outcome.failed !== undefined) throw outcome.failed.error;
    return outcome.written[0]!;
  }

  private async runWriteBatch<T>(items: readonly BatchWrite<T>[], onPublished?: (i: number, r: WriteResult<T>) => void): Promise<BatchOutcome<T>> {
    // Stage every write against the index and one read view; later ones see earlier ones through `seen`.
    const staged: { ci: ConsistentIndex; txn: WriteTxnImpl; rev: number; result: T }[] = [];
    const seen: Overlay = new Map();
    let failed: { error: unknown } | undefined;
    let base = this.current;
    let applied = this.consistent.consistentIndex;
    const view = this.backend.readTxn();
    try {
      for (const { ci, fn } of items) {
        const txn = new WriteTxnImpl(this.index, view, base, seen);
        let result: T;
        try {
          checkConsistentIndex(ci);
          if (ci.consistentIndex < applied) {
            throw new MvccError('ErrMvccInvalidArgument', `consistent index ${String(ci.consistentIndex)} is below the applied ${String(applied)}`);
          }
          result = fn(txn);
          if (isThenable(result)) throw new MvccError('ErrMvccInvalidArgument', 'write callback must be synchronous');
        } catch (error) {
          failed = { error };
          break;
        } finally {
          txn.close();
        }
        const rev = txn.changes.length === 0 ? base : base + 1;
        txn.publishTo(seen);
        staged.push({ ci, txn, rev, result });
        base = rev;
        applied = ci.consistentIndex;
      }
    } finally {
      view.release();
    }
    const last = staged.at(-1);
    if (last === undefined) return { written: [], ...(failed === undefined ? {} : { failed }) };
    if (failpointsOn) await hit('backendBeforeCommit');
    await this.backend.batch((b) => {
      for (const { txn, rev } of staged) {
        for (const c of txn.changes) {
          b.put(KEY_BUCKET, encodeRevision({ main: rev, sub: c.sub }, { tombstone: c.tombstone }), encodeKeyValue(c.kv));
        }
        for (const a of txn.aux) {
          if (a.value === undefined) b.delete(a.bucket, a.key);
          else b.put(a.bucket, a.key, a.value);
        }
      }
      b.put(META_BUCKET, META_CONSISTENT_INDEX, encodeU64(last.ci.consistentIndex));
      b.put(META_BUCKET, META_CONSISTENT_TERM, encodeU64(last.ci.consistentTerm));
    });
    // Committed but not yet visible or answered: a crash here must not apply it twice on restart.
    if (failpointsOn) await hit('backendAfterCommit');
    // Durable: now publish to readers, one write after the other, as separate commits would have.
    const written: WriteResult<T>[] = [];
    let publishError: { error: unknown } | undefined;
    for (const [i, { ci, txn, rev, result }] of staged.entries()) {
      for (const c of txn.changes) {
        const r = { main: rev, sub: c.sub };
        if (c.tombstone) this.index.tombstone(c.key, r);
        else this.index.put(c.key, r);
      }
      this.current = rev;
      this.consistent = { consistentIndex: ci.consistentIndex, consistentTerm: ci.consistentTerm };
      const events: KvEvent[] = txn.changes.map((c) => {
        const type = c.tombstone ? 'delete' : 'put';
        return c.prevKv === undefined ? { type, kv: c.kv } : { type, kv: c.kv, prevKv: c.prevKv };
      });
      const r = { revision: rev, events, result };
      written.push(r);
      // Every write is durable: publish them all even if a hook or the caller throws, then report the first error.
      try {
        runHooks(txn.hooks);
        onPublished?.(i, r);
      } catch (error) {
        publishError ??= { error };
      }
    }
    if (publishError !== undefined) throw publishError.error;
    return { written, ...(failed === undefined ? {} : { failed }) };
  }

  /**
   * The compaction proper, also used by `open` to finish an interrupted one. The scheduled
   * revision is made durable first, so a crash in the middle is resumed on the next open.
   * `replayable` ({@link keepsWholeRevision}, decided before anything is deleted) goes into the
   * same batch, so a resumed compaction, whose first pass may already have deleted a tombstone
   * at `rev`, keeps the answer of the original one.
   */
  private async runCompaction(rev: number, replayable: boolean): Promise<void> {
    await this.backend.batch((b) => {
      b.put(META_BUCKET, META_SCHEDULED_COMPACT_REV, encodeU64(rev));
      b.put(META_BUCKET, META_REPLAYABLE_COMPACT_REV, encodeU64(replayable ? rev : 0));
    });
    this.compacted = rev;
    this.compactedReplayable = replayable;
    // Between recording the compaction and deleting anything: a crash here is resumed on open.
    if (failpointsOn) await hit('compactBeforeDelete');
    const keep = this.index.compact(rev);
    const lt = encodeRevision({ main: rev + 1, sub: 0 });
    let gte: Uint8Array | undefined;
    for (;;) {
      const next: Uint8Array | undefined = await this.backend.batch((b) => {
        const page = b.range(KEY_BUCKET, { gte, lt, limit: COMPACT_BATCH_LIMIT });
        for (const { key } of page) {
          if (!keep.has(decodeRevision(key).revision)) b.delete(KEY_BUCKET, key);
        }
        // Continue right after the last key seen: appending 0x00 gives its successor.
        return page.length < COMPACT_BATCH_LIMIT ? undefined : keySuccessor(page[page.length - 1]!.key);
      });
      if (next === undefined) break;
      gte = next;
    }
    await this.backend.batch((b) => b.put(META_BUCKET, META_FINISHED_COMPACT_REV, encodeU64(rev)));
  }

  /**
   * Whether compaction at `rev` keeps every record with main revision `rev`, so that history
   * from `rev` itself stays complete: true iff revision `rev` holds no tombstone and changes
   * no key twice. Must run before that compaction deletes anything.
   *
   * Proof, by key-index.ts's compaction rules. Take a record (k, rev.s).
   * - If it is a put and the last change of k in revision `rev`, it is kept: every other change
   *   of k with main <= rev is older than it. Its generation's tombstone, if any, comes after it
   *   and so has main > rev, so rule 1 does not drop that generation, while every older
   *   generation ended with an older tombstone (main <= rev) and is dropped: it is the first
   *   remaining generation, and in it the record is the largest revision with main <= rev,
   *   which rule 2 keeps.
   * - A tombstone at `rev` is dropped (rule 1), and so is a put followed in the same revision by
   *   another change of k (rule 1 if that change is a tombstone, else rule 2 keeps the later put).
   * Compaction deletes nothing above `rev`, earlier compactions deleted nothing above theirs
   * (below `rev`), and writes only add records above the current revision; until the next
   * compaction replaces this answer, bucket `key` therefore holds every change made at `rev`
   * and after, which is exactly what history from `rev` reads. etcd keeps the tombstone where
   * rule 1 drops it; that case (the only one the API can produce: it refuses a txn changing a
   * key twice, as etcd does) answers false and history then starts at `rev` + 1.
   */
  private keepsWholeRevision(rev: number): boolean {
    const view = this.backend.readTxn();
    try {
      const seen = new Set<string>();
      const gte = encodeRevision({ main: rev, sub: 0 });
      const lt = encodeRevision({ main: rev + 1, sub: 0 });
      for (const { tombstone, kv } of scanRecords(view, gte, lt)) {
        const h = hexOf(kv.key);
        if (tombstone || seen.has(h)) return false;
        seen.add(h);
      }
      return true;
    } finally {
      view.release();
    }
  }
}

/**
 * The write transaction: changes are collected, not applied, so a throwing callback leaves
 * the store untouched. Reads merge the committed state (index + backend view at the base
 * revision) with an overlay of this transaction's latest change per key.
 */
class WriteTxnImpl implements KvWriteTxn {
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
function runHooks(hooks: readonly (() => void)[]): void {
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

/** Whether `k` is in `[key, end)` under TreeIndex's conventions for `end`. */
function inRange(k: Uint8Array, key: Uint8Array, end: Uint8Array | undefined): boolean {
  if (end === undefined || end.length === 0) return compareKeys(k, key) === 0;
  if (compareKeys(k, key) < 0) return false;
  if (end.length === 1 && end[0] === 0) return true;
  return compareKeys(k, end) < 0;
}

function readRecord(view: ReadView, rev: Revision): KeyValue {
  const bytes = view.get(KEY_BUCKET, encodeRevision(rev));
  if (bytes === undefined) {
    throw new MvccError('ErrMvccCorrupt', `indexed revision ${String(rev.main)}.${String(rev.sub)} missing from the backend`);
  }
  return decodeKeyValue(bytes);
}

/** The records of bucket `key` in [gte, lt), decoded, a page at a time. */
function* scanRecords(
  view: ReadView,
  gte: Uint8Array | undefined,
  lt: Uint8Array | undefined,
): Generator<{ rev: Revision; tombstone: boolean; kv: KeyValue }> {
  for (const { key, value } of scanRaw(view, gte, lt)) {
    const { revision, tombstone } = decodeRevision(key);
    yield { rev: revision, tombstone, kv: decodeKeyValue(value) };
  }
}

function* scanRaw(view: ReadView, gte: Uint8Array | undefined, lt: Uint8Array | undefined): Generator<{ key: Uint8Array; value: Uint8Array }> {
  let from = gte;
  for (;;) {
    const page = view.range(KEY_BUCKET, { gte: from, lt, limit: SCAN_PAGE });
    yield* page;
    if (page.length < SCAN_PAGE) return;
    from = keySuccessor(page[page.length - 1]!.key);
  }
}

function shape(kv: KeyValue, keysOnly: boolean): KeyValue {
  return keysOnly ? { ...kv, value: EMPTY } : kv;
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length === 0) {
    throw new MvccError('ErrMvccInvalidArgument', 'key must be a non-empty Uint8Array');
  }
}

function checkLimit(limit: number | undefined): number {
  const n = limit ?? 0;
  if (!Number.isSafeInteger(n) || n < 0) throw new MvccError('ErrMvccInvalidArgument', `limit ${String(n)} is not a non-negative integer`);
  return n;
}

function checkRevisionNumber(rev: number): void {
  if (!Number.isSafeInteger(rev) || rev < 0) {
    throw new MvccError('ErrMvccInvalidArgument', `revision ${String(rev)} is not a non-negative integer`);
  }
}

function checkConsistentIndex(ci: ConsistentIndex): void {
  for (const n of [ci.consistentIndex, ci.consistentTerm]) {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new MvccError('ErrMvccInvalidArgument', `consistent index/term ${String(n)} is not a non-negative integer`);
    }
  }
}

