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
import { isThenable, type KvEvent, failpointsOn, hit } from '@kvfleet/core';
import type { Backend, ReadView } from '../backend/backend.js';
import { MvccError } from './errors.js';
import { deleteCompacted, keepsWholeRevision, scheduleCompaction } from './kv-compaction.js';
import { type HashKvResult, hashKeyBucket } from './kv-hash.js';
import { type HistoryOptions, type HistoryResult, readHistory } from './kv-history.js';
import { type RangeOptions, type RangeResult, checkKey, checkLimit, checkRevisionNumber, readRecord, scanRecords, shape } from './kv-read.js';
import { type KeyValue, encodeKeyValue } from './kv-record.js';
import { type KvWriteTxn, type Overlay, WriteTxnImpl, runHooks } from './kv-write-txn.js';
import { encodeRevision } from './revision.js';
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
      await this.runCompaction(rev, keepsWholeRevision(this.backend, rev));
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
    try {
      return { hash: hashKeyBucket(view, compactRevision, at), compactRevision, revision: at };
    } finally {
      view.release();
    }
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
    const view = this.backend.readTxn();
    try {
      return readHistory(view, fromRev, toRev, limit, options.prevKv === true ? (type, kv) => this.prevKvAt(view, type, kv) : undefined);
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
    await scheduleCompaction(this.backend, rev, replayable);
    this.compacted = rev;
    this.compactedReplayable = replayable;
    await deleteCompacted(this.backend, this.index, rev);
  }
}

function checkConsistentIndex(ci: ConsistentIndex): void {
  for (const n of [ci.consistentIndex, ci.consistentTerm]) {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new MvccError('ErrMvccInvalidArgument', `consistent index/term ${String(n)} is not a non-negative integer`);
    }
  }
}

