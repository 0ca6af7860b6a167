/**
 * The watch cache: the whole keyspace at revision R, plus a window of the most recent revisions'
 * events, able to answer a Range at any revision inside the window exactly as a member would.
 * Pure: no clock, timers, randomness or I/O; whoever feeds it (a proxy's upstream watch) calls
 * `reset` and `apply`, and whoever serves from it reads `range` and `eventsAfter`.
 *
 * State. Every key maps (in a B+tree, byte order) to its recent history: the versions it took
 * inside the window, oldest first, plus the last version at or below the window's start. A
 * version is a KeyValue or a tombstone.
 *
 * Worked example, window start W = 10 (oldestRevision), current R = 14:
 *   key a: [ {rev 7: a=1}, {rev 12: a=2} ]   range at 10 → a=1; at 12..14 → a=2
 *   key b: [ {rev 11: b=1}, {rev 13: †} ]      range at 10 → none; at 11, 12 → b=1; at 13, 14 → none
 * When revision 11 leaves the window (W becomes 11), b keeps both entries (both are needed);
 * when 13 leaves it, b's history is just a tombstone at or below W, so b is dropped entirely.
 *
 * Memory, roughly (V8, 64-bit): per key about 200 bytes plus its key and value bytes (the B+tree
 * slot, the history array, one version record and the KeyValue); per windowed event about 120
 * bytes plus its key and value (the event and the KeyValue it introduced; its prev_kv is the
 * previous version's object, shared, not copied). `windowBytesMax` bounds the window by the
 * second figure; the keyspace itself is bounded by the upstream's own quota.
 */
import { EtcdError, ETCD_ERRORS } from '../etcd-errors.js';
import { BTree } from '../kv/btree.js';
import type { KeyValue } from '../kv/key-value.js';
import type { KvEvent } from '../kv/kv-event.js';
import { compareKeys } from '../keys.js';

/** One change; a delete's `kv` carries the key and the deleting revision, its other numbers 0 and its value empty. */
export type CacheEvent = KvEvent;

/** Every event of one revision, in the order the upstream applied them. */
export interface RevisionEvents {
  readonly revision: number;
  readonly events: readonly CacheEvent[];
}

export interface WatchCacheOptions {
  /** Most revisions kept in the window. Default 10,000. */
  readonly windowRevisionsMax?: number;
  /** Most event bytes (see the memory note above) kept in the window. Default 64 MiB. */
  readonly windowBytesMax?: number;
}

/** Why the cache cannot answer a read at a revision; the proxy then waits or forwards. */
export class CacheMissError extends Error {
  constructor(
    /** `future`: above the cache's revision; `evicted`: below its window. */
    readonly kind: 'future' | 'evicted',
    readonly revision: number,
  ) {
    super(`watch cache: revision ${revision} is ${kind === 'future' ? 'ahead of the cache' : 'older than its window'}`);
    this.name = 'CacheMissError';
  }
}

export interface WatchCacheStats {
  readonly keys: number;
  /** Key and value bytes of the live keys at the current revision. */
  readonly bytes: number;
  readonly windowRevisions: number;
  readonly windowEvents: number;
  readonly windowBytes: number;
}

/** A key's version at some revision; `kv` undefined is a tombstone. */
interface Version {
  readonly revision: number;
  readonly kv: KeyValue | undefined;
}

interface WindowEntry extends RevisionEvents {
  readonly bytes: number;
}

const EVENT_OVERHEAD_BYTES = 120;
const EMPTY = new Uint8Array(0);

export class WatchCache {
  private keys = new BTree<Version[]>();
  private window: WindowEntry[] = [];
  /** Index of the oldest live entry in `window` (entries before it were evicted; spliced off in bulk). */
  private head = 0;
  private current = 0;
  private oldest = 0;
  private compacted = 0;
  private windowBytes = 0;
  private windowEvents = 0;
  private liveKeys = 0;
  private liveBytes = 0;
  private readonly revisionsMax: number;
  private readonly bytesMax: number;

  constructor(options: WatchCacheOptions = {}) {
    this.revisionsMax = positive(options.windowRevisionsMax ?? 10_000, 'windowRevisionsMax');
    this.bytesMax = positive(options.windowBytesMax ?? 64 * 1024 * 1024, 'windowBytesMax');
  }

  /** The revision the cache is at; 0 until the first reset. */
  get revision(): number {
    return this.current;
  }

  /** The lowest revision `range` answers at; events after it are all in the window. */
  get oldestRevision(): number {
    return this.oldest;
  }

  /** The upstream's compact revision as far as the cache knows (reset, or `compact` from a forwarded request). */
  get compactRevision(): number {
    return this.compacted;
  }

  /** Replaces the whole state with a listing taken at `revision`; the window empties. */
  reset(revision: number, kvs: Iterable<KeyValue>, compactRevision = 0): void {
    checkRevision(revision);
    this.keys = new BTree<Version[]>();
    this.window = [];
    this.head = 0;
    this.windowBytes = 0;
    this.windowEvents = 0;
    this.liveKeys = 0;
    this.liveBytes = 0;
    for (const kv of kvs) {
      if (kv.modRevision > revision) throw new RangeError(`listed key modified at ${kv.modRevision}, after the listing's revision ${revision}`);
      this.keys.set(kv.key, [{ revision: kv.modRevision, kv }]);
      this.liveKeys += 1;
      this.liveBytes += kv.key.length + kv.value.length;
    }
    this.current = revision;
    this.oldest = revision;
    this.compacted = Math.min(compactRevision, revision);
  }

  /**
   * Applies one revision's events. The revision must be above the current one and every event's
   * kv must carry it as its mod revision. prev_kv comes from the cache itself (the key's
   * previous version), so it is exact whatever the upstream sent.
   */
  apply(revision: number, events: readonly CacheEvent[]): RevisionEvents {
    checkRevision(revision);
    if (revision <= this.current) throw new RangeError(`revision ${revision} is not after the cache's ${this.current}`);
    if (events.length === 0) throw new RangeError(`revision ${revision} has no events`);
    const stored: CacheEvent[] = [];
    let bytes = 0;
    for (const e of events) {
      if (e.kv.modRevision !== revision) throw new RangeError(`event at ${e.kv.modRevision} inside revision ${revision}`);
      const history = this.keys.getOrInsert(e.kv.key, () => ({ key: e.kv.key, value: [] }));
      const last = history[history.length - 1];
      const prev = last?.kv;
      if (prev !== undefined) {
        this.liveKeys -= 1;
        this.liveBytes -= prev.key.length + prev.value.length;
      }
      const kv = e.type === 'put' ? e.kv : tombstoneOf(e.kv.key, revision);
      const version: Version = { revision, kv: e.type === 'put' ? e.kv : undefined };
      // One key changes at most once per revision in etcd; a repeat replaces, never stacks.
      if (last !== undefined && last.revision === revision) history[history.length - 1] = version;
      else history.push(version);
      if (e.type === 'put') {
        this.liveKeys += 1;
        this.liveBytes += kv.key.length + kv.value.length;
      }
      stored.push(prev === undefined ? { type: e.type, kv } : { type: e.type, kv, prevKv: prev });
      bytes += EVENT_OVERHEAD_BYTES + kv.key.length + kv.value.length + (prev === undefined ? 0 : prev.value.length);
    }
    const entry: WindowEntry = { revision, events: stored, bytes };
    this.window.push(entry);
    this.windowBytes += bytes;
    this.windowEvents += stored.length;
    this.current = revision;
    this.evict();
    return entry;
  }

  /** Records a compaction the cache learned of; ranges below it then fail as a member's would. */
  compact(revision: number): void {
    if (revision > this.compacted) this.compacted = Math.min(revision, this.current);
  }

  /**
   * Reads `[key, end)` at `options.revision` (default current) with a member's store semantics
   * (the RangeReader contract of executeRange): `end` undefined is the single key, `[0x00]`
   * every key from `key` on. Throws CacheMissError outside the window and etcd's compacted
   * error below the known compact revision.
   */
  range(
    key: Uint8Array,
    end: Uint8Array | undefined,
    options: { revision?: number; limit?: number; countOnly?: boolean; keysOnly?: boolean } = {},
  ): { kvs: KeyValue[]; count: number; more: boolean; revision: number } {
    const rev = options.revision === undefined || options.revision <= 0 ? this.current : options.revision;
    if (rev > this.current) throw new CacheMissError('future', rev);
    if (rev < this.compacted) throw new EtcdError(ETCD_ERRORS.ErrGRPCCompacted);
    if (rev < this.oldest) throw new CacheMissError('evicted', rev);
    const limit = options.limit ?? 0;
    const kvs: KeyValue[] = [];
    let count = 0;
    const visit = (history: Version[]): void => {
      const kv = versionAt(history, rev);
      if (kv === undefined) return;
      count += 1;
      if (options.countOnly === true || (limit > 0 && kvs.length >= limit)) return;
      kvs.push(options.keysOnly === true ? { ...kv, value: EMPTY } : kv);
    };
    if (end === undefined) {
      const history = this.keys.get(key);
      if (history !== undefined) visit(history);
    } else {
      const fromKey = end.length === 1 && end[0] === 0;
      for (const [k, history] of this.keys.entries(key)) {
        if (!fromKey && compareKeys(k, end) >= 0) break;
        visit(history);
      }
    }
    return { kvs, count, more: limit > 0 && count > kvs.length && options.countOnly !== true, revision: this.current };
  }

  /**
   * The window's revisions after `afterRevision`, oldest first (at most `maxRevisions`);
   * undefined when some of them have left the window (the caller must go elsewhere).
   */
  eventsAfter(afterRevision: number, maxRevisions = Number.POSITIVE_INFINITY): readonly RevisionEvents[] | undefined {
    if (afterRevision < this.oldest) return undefined;
    if (afterRevision >= this.current) return [];
    let lo = this.head;
    let hi = this.window.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.window[mid]!.revision <= afterRevision) lo = mid + 1;
      else hi = mid;
    }
    const stop = Math.min(this.window.length, lo + maxRevisions);
    return this.window.slice(lo, stop);
  }

  stats(): WatchCacheStats {
    return {
      keys: this.liveKeys,
      bytes: this.liveBytes,
      windowRevisions: this.window.length - this.head,
      windowEvents: this.windowEvents,
      windowBytes: this.windowBytes,
    };
  }

  /** Drops the oldest revisions past either bound, then the key versions no read can reach any more. */
  private evict(): void {
    while (this.window.length - this.head > this.revisionsMax || (this.windowBytes > this.bytesMax && this.window.length - this.head > 1)) {
      const gone = this.window[this.head]!;
      this.head += 1;
      this.windowBytes -= gone.bytes;
      this.windowEvents -= gone.events.length;
      this.oldest = gone.revision;
      for (const e of gone.events) this.prune(e.kv.key);
    }
    if (this.head > 1024 && this.head * 2 > this.window.length) {
      this.window = this.window.slice(this.head);
      this.head = 0;
    }
  }

  /** Keeps, of a key's history, the last version at or below the window start and everything after. */
  private prune(key: Uint8Array): void {
    const history = this.keys.get(key);
    if (history === undefined) return;
    let keepFrom = 0;
    while (keepFrom + 1 < history.length && history[keepFrom + 1]!.revision <= this.oldest) keepFrom += 1;
    if (keepFrom > 0) history.splice(0, keepFrom);
    const first = history[0]!;
    if (first.kv === undefined && first.revision <= this.oldest) {
      // Absent at the window start; its next version, if any, says when it comes back.
      history.shift();
      if (history.length === 0) this.keys.delete(key);
    }
  }
}

/** The key's value at `rev` (undefined: absent). Histories are short, so scan from the newest. */
function versionAt(history: Version[], rev: number): KeyValue | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    const v = history[i]!;
    if (v.revision <= rev) return v.kv;
  }
  return undefined;
}

function tombstoneOf(key: Uint8Array, revision: number): KeyValue {
  return { key, createRevision: 0, modRevision: revision, version: 0, value: EMPTY, lease: 0 };
}

function checkRevision(revision: number): void {
  if (!Number.isSafeInteger(revision) || revision < 0) throw new RangeError(`revision must be a non-negative safe integer, got ${revision}`);
}

function positive(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`);
  return n;
}
