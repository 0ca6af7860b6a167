/**
 * The LMDB backend: the member's durable store, on the `lmdb` package (LMDB's B+tree in one
 * memory-mapped file, copy-on-write pages, MVCC readers; the same design as bbolt).
 *
 * Layout: all buckets share LMDB's main database. A stored key is the bucket's UTF-8 name,
 * a 0x00 byte, then the key (names cannot contain NUL). So one bucket's keys are contiguous
 * and in key order, and the whole database is in hash order (name bytes, then key bytes),
 * which lets hash and snapshot be one sequential scan. Chosen over one LMDB named database
 * per bucket because buckets then need no registry, no `maxDbs` limit, and no creation step
 * inside a write transaction; the cost is name+1 bytes of LMDB's 1978-byte key limit.
 *
 * Flags, and why:
 * - `keyEncoding: 'binary'`, `encoding: 'binary'`: raw bytes in and out; LMDB's memcmp order
 *   is the byte order the contract promises.
 * - `overlappingSync: false` (lmdb-js enables it by default on Linux): each commit is
 *   fsynced before it completes, instead of the flush trailing the commit. A resolved batch
 *   is then on disk, with no dependence on lmdb-js's boot-id recovery of unflushed commits.
 *   Every batch also awaits `flushed`, which then resolves at once.
 * - `noSync: false`, `noMetaSync: false`: the defaults, stated so nobody "optimizes" them;
 *   either lets a power loss drop or tear committed transactions.
 * - `useWritemap: false`: writes go through `write()`, so a stray pointer cannot scribble on
 *   the map, and child transactions (needed for rollback, below) stay available.
 * - `cache: false`, `compression: false`: values are opaque bytes owned by the MVCC layer.
 *
 * Writes: a batch is an lmdb-js `childTransaction`. lmdb-js groups the async transactions of
 * one event turn into one LMDB write transaction; a plain `transaction()` callback that throws
 * still commits what it wrote (checked on lmdb 3.5.6), a child transaction is aborted, so
 * each batch stays all-or-nothing while sharing the group's single fsync.
 */
import { existsSync, mkdirSync, openSync, closeSync, fsyncSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { open, type RootDatabase, type Transaction } from 'lmdb';
import { isThenable } from '@kvfleet/core';
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

export interface LmdbBackendOptions {
  /** Directory of the environment (data.mdb, lock.mdb); created if missing. */
  readonly path: string;
}

/** The LMDB environment statistics this backend reads (lmdb-js types them as `{}`). */
interface LmdbStats {
  readonly pageSize: number;
  readonly lastPageNumber: number;
  readonly treeBranchPageCount: number;
  readonly treeLeafPageCount: number;
  readonly overflowPages: number;
  readonly free?: { readonly treeBranchPageCount: number; readonly treeLeafPageCount: number; readonly overflowPages: number };
}

/** LMDB's two meta pages, always in use. */
const META_PAGES = 2;
const SEPARATOR = 0x00;

function prefixOf(nameBytes: Uint8Array): Buffer {
  const p = Buffer.allocUnsafe(nameBytes.length + 1);
  p.set(nameBytes, 0);
  p[nameBytes.length] = SEPARATOR;
  return p;
}

/** The first stored key past every key of the bucket: the name followed by 0x01. */
function endOf(nameBytes: Uint8Array): Buffer {
  const p = prefixOf(nameBytes);
  p[nameBytes.length] = SEPARATOR + 1;
  return p;
}

/** The same bytes as a plain Uint8Array, so both backends return the same type (lmdb-js returns Buffers). */
function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

function composeKey(prefix: Uint8Array, key: Uint8Array): Buffer {
  return Buffer.concat([prefix, key]);
}

/**
 * Reads against the main database, either in an explicit read transaction (a view) or, with
 * none, in the write transaction whose callback is running.
 */
class LmdbReader {
  constructor(
    protected readonly env: RootDatabase<Uint8Array, Uint8Array>,
    private readonly transaction: Transaction | undefined,
  ) {}

  get(bucket: string, key: Uint8Array): Uint8Array | undefined {
    this.check();
    const prefix = prefixOf(checkBucket(bucket));
    checkKey(key);
    const value = this.env.get(composeKey(prefix, key), this.readOptions());
    return value === undefined || value === null ? undefined : plain(value);
  }

  range(bucket: string, options?: RangeOptions): KeyValue[] {
    this.check();
    const name = checkBucket(bucket);
    const o = checkRange(options);
    const prefix = prefixOf(name);
    const low = o.gte === undefined ? prefix : composeKey(prefix, o.gte);
    const high = o.lt === undefined ? endOf(name) : composeKey(prefix, o.lt);
    if (Buffer.compare(low, high) >= 0) return [];
    // lmdb-js ranges run from `start` (inclusive) towards `end` (exclusive) in the direction
    // of travel; in reverse the flags flip them back to [gte, lt).
    const iterable =
      o.reverse === true
        ? this.env.getRange({ ...this.readOptions(), start: high, end: low, reverse: true, exclusiveStart: true, inclusiveEnd: true, limit: o.limit })
        : this.env.getRange({ ...this.readOptions(), start: low, end: high, limit: o.limit });
    const out: KeyValue[] = [];
    for (const { key, value } of iterable) out.push({ key: plain(key.subarray(prefix.length)), value: plain(value) });
    return out;
  }

  buckets(): string[] {
    this.check();
    const names: string[] = [];
    let start: Buffer | undefined;
    // One seek per bucket: find the next stored key, take its name, jump past that bucket.
    for (;;) {
      let next: Uint8Array | undefined;
      for (const key of this.env.getKeys({ ...this.readOptions(), start, limit: 1 })) next = key;
      if (next === undefined) return names;
      const nameBytes = next.subarray(0, next.indexOf(SEPARATOR));
      names.push(Buffer.from(nameBytes).toString('utf8'));
      start = endOf(nameBytes);
    }
  }

  protected check(): void {}

  private readOptions(): { transaction?: Transaction } {
    return this.transaction === undefined ? {} : { transaction: this.transaction };
  }
}

class LmdbReadView extends LmdbReader implements ReadView {
  private open = true;

  constructor(
    env: RootDatabase<Uint8Array, Uint8Array>,
    private readonly txn: Transaction,
    private readonly onRelease: (view: LmdbReadView) => void,
  ) {
    super(env, txn);
  }

  release(): void {
    if (!this.open) return;
    this.open = false;
    this.txn.done();
    this.onRelease(this);
  }

  protected override check(): void {
    if (!this.open) throw new BackendError('ErrBackendClosed', 'read view released');
  }
}

class LmdbWriteTxn extends LmdbReader implements WriteTxn {
  open = true;

  constructor(
    env: RootDatabase<Uint8Array, Uint8Array>,
    /** Keys written while a defragmentation copies the store (see LmdbBackend.defragment). */
    private readonly dirty: DirtyKeys | undefined,
  ) {
    super(env, undefined);
  }

  put(bucket: string, key: Uint8Array, value: Uint8Array): void {
    this.check();
    const prefix = prefixOf(checkBucket(bucket));
    checkKey(key);
    checkValue(value);
    const stored = composeKey(prefix, key);
    this.dirty?.add(stored);
    this.env.putSync(stored, value);
  }

  delete(bucket: string, key: Uint8Array): void {
    this.check();
    const prefix = prefixOf(checkBucket(bucket));
    checkKey(key);
    const stored = composeKey(prefix, key);
    this.dirty?.add(stored);
    this.env.removeSync(stored);
  }

  protected override check(): void {
    if (!this.open) throw new BackendError('ErrBackendClosed', 'write transaction is over');
  }
}

/** Stored keys changed since a defragmentation's copy began; past the bound the copy is redone with writes paused. */
class DirtyKeys {
  readonly keys = new Map<string, Buffer>();
  overflow = false;

  add(stored: Buffer): void {
    if (this.overflow) return;
    if (this.keys.size >= MAX_DIRTY_KEYS) {
      this.overflow = true;
      this.keys.clear();
      return;
    }
    this.keys.set(stored.toString('latin1'), stored);
  }
}

/** Keys written during a defragmentation's copy that are replayed onto the copy; more and the copy is redone. */
const MAX_DIRTY_KEYS = 100_000;
/** A finished defragmentation copy carries this file until it has replaced the store. */
const DEFRAG_READY_FILE = 'defrag-complete';

function openEnv(path: string, noSubdir?: boolean): RootDatabase<Uint8Array, Uint8Array> {
  return open<Uint8Array, Uint8Array>({
    path,
    // lmdb-js guesses from a file extension; a defragmentation copy is always a directory.
    ...(noSubdir === undefined ? {} : { noSubdir }),
    keyEncoding: 'binary',
    encoding: 'binary',
    overlappingSync: false,
    noSync: false,
    noMetaSync: false,
    useWritemap: false,
    cache: false,
    compression: false,
  });
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Finishes or cleans up after a defragmentation cut short by a crash (see defragment): if the
 * store's directory is missing, a completed copy beside it is the store; leftovers go.
 */
function recoverDefragment(path: string): void {
  const parent = dirname(path);
  if (!existsSync(parent)) return;
  const prefix = `${basename(path)}-`;
  const siblings = readdirSync(parent).filter((n) => n.startsWith(`${prefix}defrag-`) || n.startsWith(`${prefix}old-`));
  if (!existsSync(path)) {
    const ready = siblings.find((n) => n.startsWith(`${prefix}defrag-`) && existsSync(join(parent, n, DEFRAG_READY_FILE)));
    if (ready !== undefined) {
      renameSync(join(parent, ready), path);
      fsyncPath(parent);
    }
  }
  for (const n of siblings) {
    if (existsSync(join(parent, n))) rmSync(join(parent, n), { recursive: true, force: true });
  }
  rmSync(join(path, DEFRAG_READY_FILE), { force: true });
}

export class LmdbBackend implements Backend {
  readonly kind = 'lmdb' as const;
  private views = new Set<LmdbReadView>();
  private dirty: DirtyKeys | undefined;
  /** Batches wait on this while a defragmentation swaps the store. */
  private writeGate: Promise<void> | undefined;
  private defragmenting: Promise<void> | undefined;
  /** Environments replaced by a defragmentation, closed once their last view is released. */
  private readonly retired = new Set<Promise<void>>();
  private readonly retiredViews = new Set<Set<LmdbReadView>>();
  private defragCount = 0;
  /** Batches and restore steps not yet settled; close() waits for them. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** getStats of `env` since the last write ended (see stats()). */
  private cachedStats: { env: RootDatabase<Uint8Array, Uint8Array>; stats: LmdbStats } | undefined;
  private writing = false;
  private restoring = false;
  private closed = false;

  private constructor(
    readonly path: string,
    private env: RootDatabase<Uint8Array, Uint8Array>,
  ) {}

  /** Opens (creating if needed) the environment in `options.path`. */
  static open(options: LmdbBackendOptions): LmdbBackend {
    recoverDefragment(options.path);
    // The environment's directory, as a member's data dir lays it out (member/db).
    if (!existsSync(options.path)) mkdirSync(options.path, { recursive: true });
    return new LmdbBackend(options.path, openEnv(options.path));
  }

  /** See Backend.readTxn: an LMDB read transaction, released by the view's release(). */
  readTxn(): ReadView {
    this.checkOpen();
    if (this.writing) throw new BackendError('ErrBackendBusy', 'read view opened inside a batch callback');
    // The set of the environment the view reads; a defragmentation may replace both meanwhile.
    const views = this.views;
    const view = new LmdbReadView(this.env, this.env.useReadTransaction(), (v) => views.delete(v));
    views.add(view);
    return view;
  }

  /** See Backend.batch: one lmdb-js child transaction, awaited until committed and flushed. */
  async batch<T>(fn: (txn: WriteTxn) => T): Promise<T> {
    this.checkOpen();
    if (this.writing) throw new BackendError('ErrBackendInvalidArgument', 'batch started inside a batch');
    if (this.restoring) throw new BackendError('ErrBackendBusy', 'restore in progress');
    if (this.writeGate !== undefined) {
      // A defragmentation is swapping the store: wait, in call order, then commit to the new one.
      const gate = this.writeGate;
      return this.track(gate.then(() => this.batch(fn)));
    }
    const committed = this.env.childTransaction(() => {
      const txn = new LmdbWriteTxn(this.env, this.dirty);
      this.writing = true;
      try {
        const result = fn(txn);
        if (isThenable(result)) {
          throw new BackendError('ErrBackendInvalidArgument', 'batch callback must be synchronous');
        }
        return result;
      } finally {
        txn.open = false;
        this.writing = false;
      }
    });
    return this.track(committed.then(async (result) => {
      await this.env.flushed;
      return result;
    }));
  }

  /** See Backend.sizeBytes: pages allocated in the file (up to LMDB's last used page). */
  sizeBytes(): number {
    const s = this.stats();
    return (s.lastPageNumber + 1) * s.pageSize;
  }

  /** See Backend.sizeInUseBytes: meta pages plus the pages of the data and free-list trees. */
  sizeInUseBytes(): number {
    const s = this.stats();
    const free = s.free === undefined ? 0 : s.free.treeBranchPageCount + s.free.treeLeafPageCount + s.free.overflowPages;
    return (META_PAGES + s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages + free) * s.pageSize;
  }

  /** See Backend.hash. */
  async hash(): Promise<number> {
    return hashBackend(this);
  }

  /** See Backend.snapshot. */
  snapshot(): AsyncIterableIterator<Uint8Array> {
    return encodeSnapshot(this.readTxn());
  }

  /**
   * See Backend.restore. Each decoded chunk is written in its own transaction (one huge
   * transaction would hold every dirty page in memory); if the stream then proves corrupt,
   * everything written is cleared. A crash during a restore leaves a partial store, so the
   * caller should restore into a fresh directory and switch to it only afterwards.
   */
  async restore(stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<RestoreResult> {
    this.checkOpen();
    // Writes of a restore bypass batches, so a defragmentation must not copy meanwhile.
    await this.defragmenting?.catch(() => undefined);
    if (this.writing || this.restoring) throw new BackendError('ErrBackendBusy', 'a batch or restore is in progress');
    if (this.inFlight.size > 0) throw new BackendError('ErrBackendBusy', 'batches are still committing');
    const probe = this.readTxn();
    const empty = probe.buckets().length === 0;
    probe.release();
    if (!empty) throw new BackendError('ErrBackendNotEmpty');
    this.restoring = true;
    try {
      const entries = decodeSnapshot(stream);
      let count: number;
      try {
        let step = await entries.next();
        while (step.done !== true) {
          const batch = step.value;
          await this.track(
            this.env.childTransaction(() => {
              for (const e of batch) this.env.putSync(composeKey(prefixOf(checkBucket(e.bucket)), e.key), e.value);
            }),
          );
          step = await entries.next();
        }
        count = step.value;
      } catch (e) {
        if (!this.closed) await this.track(this.env.clearAsync());
        throw e;
      }
      await this.env.flushed;
      return { entries: count, hash: await this.hash() };
    } finally {
      this.restoring = false;
    }
  }

  /** See Backend.close: waits for in-flight batches, releases views, closes the environment. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.defragmenting?.catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    for (const v of [...this.views]) v.release();
    for (const views of this.retiredViews) for (const v of [...views]) v.release();
    await this.env.close();
    await Promise.allSettled([...this.retired]);
  }

  /**
   * Returns the free pages to the file system by replacing the store with a compacted copy,
   * without stopping reads and stopping writes only briefly:
   *
   * 1. LMDB copies the store compacted (mdb_env_copy2 with MDB_CP_COMPACT, in a read
   *    transaction on another thread) into `<path>-defrag-N`, while batches go on committing;
   *    the keys they write are recorded.
   * 2. Writes pause (new batches wait) and committing ones finish. The recorded keys are
   *    copied from the store onto the copy — or, if more than MAX_DIRTY_KEYS were written,
   *    the copy is redone now. The copy is marked complete and synced.
   * 3. Directories are swapped: `<path>` becomes `<path>-old-N`, the copy becomes `<path>`
   *    (open files follow a rename, so both environments keep working), and new reads and the
   *    waiting writes go to the copy. A crash between the two renames leaves no `<path>`:
   *    open() then takes the complete copy, which holds the same data.
   * 4. The old environment is closed once its last read view (a snapshot being streamed) is
   *    released, and its directory removed.
   */
  defragment(): Promise<void> {
    this.checkOpen();
    if (this.defragmenting !== undefined) return this.defragmenting;
    const run = this.runDefragment().finally(() => {
      this.defragmenting = undefined;
    });
    this.defragmenting = run;
    return run;
  }

  private async runDefragment(): Promise<void> {
    if (this.restoring) throw new BackendError('ErrBackendBusy', 'restore in progress');
    if (extname(this.path) !== '') throw new BackendError('ErrBackendInvalidArgument', 'defragment needs a store kept in a directory');
    const parent = dirname(this.path);
    const copyPath = join(parent, `${basename(this.path)}-defrag-${String(process.pid)}-${String(++this.defragCount)}`);
    rmSync(copyPath, { recursive: true, force: true });
    mkdirSync(copyPath, { recursive: true });
    const dirty = new DirtyKeys();
    this.dirty = dirty;
    let releaseGate: () => void = () => undefined;
    try {
      await this.env.backup(copyPath, true);
      this.writeGate = new Promise<void>((resolve) => {
        releaseGate = resolve;
      });
      // Batches already handed to LMDB commit to the old store (and are recorded); the copy must include them.
      const committing = [...this.inFlight];
      await Promise.allSettled(committing);
      await this.env.flushed;
      if (dirty.overflow) {
        rmSync(copyPath, { recursive: true, force: true });
        mkdirSync(copyPath, { recursive: true });
        await this.env.backup(copyPath, true);
      }
      const copy = openEnv(copyPath, false);
      try {
        if (!dirty.overflow && dirty.keys.size > 0) {
          const txn = this.env.useReadTransaction();
          try {
            await copy.transaction(() => {
              for (const stored of dirty.keys.values()) {
                const value = this.env.get(stored, { transaction: txn });
                if (value === undefined || value === null) copy.removeSync(stored);
                else copy.putSync(stored, value);
              }
            });
          } finally {
            txn.done();
          }
        }
        await copy.flushed;
        writeFileSync(join(copyPath, DEFRAG_READY_FILE), '');
        fsyncPath(copyPath);
      } catch (e) {
        await copy.close();
        throw e;
      }
      const oldPath = join(parent, `${basename(this.path)}-old-${String(process.pid)}-${String(this.defragCount)}`);
      renameSync(this.path, oldPath);
      renameSync(copyPath, this.path);
      fsyncPath(parent);
      rmSync(join(this.path, DEFRAG_READY_FILE), { force: true });
      this.retire(this.env, this.views, oldPath);
      this.env = copy;
      this.views = new Set();
    } catch (e) {
      rmSync(copyPath, { recursive: true, force: true });
      throw e;
    } finally {
      this.dirty = undefined;
      this.writeGate = undefined;
      releaseGate();
    }
  }

  /** Closes a replaced environment once none of its views is open, then deletes its files. */
  private retire(env: RootDatabase<Uint8Array, Uint8Array>, views: Set<LmdbReadView>, dir: string): void {
    this.retiredViews.add(views);
    const done = (async () => {
      while (views.size > 0) await new Promise((r) => setTimeout(r, 50));
      this.retiredViews.delete(views);
      await env.close();
      rmSync(dir, { recursive: true, force: true });
    })();
    const tracked = done.catch(() => undefined).finally(() => this.retired.delete(tracked));
    this.retired.add(tracked);
  }

  private stats(): LmdbStats {
    this.checkOpen();
    // Sizes only change when a tracked write ends (or the environment is swapped): the quota
    // check and metrics ask several times per request, and getStats walks LMDB's trees.
    if (this.cachedStats?.env !== this.env) this.cachedStats = { env: this.env, stats: this.env.getStats() as LmdbStats };
    return this.cachedStats.stats;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const forget = (): void => {
      this.inFlight.delete(p);
      this.cachedStats = undefined;
    };
    p.then(forget, forget);
    return p;
  }

  private checkOpen(): void {
    if (this.closed) throw new BackendError('ErrBackendClosed');
  }
}
