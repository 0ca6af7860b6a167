/**
 * Keeps the watch cache equal to the members': a paginated list of the whole keyspace at one
 * revision R, then one upstream Watch from R + 1 (prev_kv, progress_notify) whose events are
 * applied revision by revision. A broken stream is reopened on the next endpoint from the
 * cache's revision + 1, so nothing is missed or repeated; if the upstream compacted past the
 * cache, it lists again.
 */
import { performance } from 'node:perf_hooks';
import type * as grpc from '@grpc/grpc-js';
import { failpoint, proto, type KeyValue, type KvEvent, type WatchCache } from '@kvfleet/core';
import type { Upstream } from './upstream.js';

export interface CacheFeedOptions {
  /** Keys per list page. Default 1,000. */
  readonly pageSize?: number;
  /** After the cache applied a revision. */
  readonly onRevision?: (revision: number) => void;
  /** After the cache was (re)loaded from a listing. */
  readonly onReset?: (revision: number) => void;
  readonly log?: (message: string) => void;
  /** Counts linearizable revision checks sent upstream. */
  readonly onRevisionCheck?: () => void;
}

const WHOLE_KEYSPACE = Uint8Array.of(0);
const BACKOFF_MS_MIN = 100;
const BACKOFF_MS_MAX = 2_000;
const REVISION_CHECK_TIMEOUT_MS = 1_000;
/** Any single key: a Range's header carries the store's revision whatever the key. */
const REVISION_PROBE_KEY = Uint8Array.of(0);
/** A check that served this many reads makes the next one wait the longest. */
const FULL_CHECK_BATCH = 100;
const MAX_CHECK_SPACING_MS = 15;

/**
 * How long after a check starts the next may start, from how many reads the last one served:
 * none for a lone reader, growing with load up to {@link MAX_CHECK_SPACING_MS} (the batch then
 * grows with it, since reads keep arriving meanwhile).
 */
export function checkSpacingMs(lastBatchSize: number): number {
  if (lastBatchSize <= 1) return 0;
  return Math.min(1, lastBatchSize / FULL_CHECK_BATCH) * MAX_CHECK_SPACING_MS;
}

type WireKeyValue = proto.Decoded<proto.KeyValue>;

/** Robustness failpoint: hold every upstream watch response this long (a slow feed; legal). */
const FEED_DELAY_MS = Number(failpoint('proxyFeedDelayMs') ?? 0);

export class CacheFeed {
  private closed = false;
  private synced = false;
  private readyWaiters: Array<() => void> = [];
  private stream: grpc.ClientDuplexStream<unknown, proto.Decoded<proto.WatchResponse>> | undefined;
  private lastHeader: proto.ResponseHeader = {};
  private newestRevision = 0;
  /** Since when the cache has been behind the newest upstream revision heard of (0: it is not). */
  private behindSinceMs = 0;
  /** The next linearizable check, not started yet: callers arriving now join it. */
  private joinable: { callers: number; revision: Promise<number> } | undefined;
  /** Settles when the latest check has (checks run one after the other). */
  private lastCheck: Promise<void> = Promise.resolve();
  private lastCheckStart = -Infinity;
  private lastBatchSize = 0;
  private readonly pageSize: number;

  constructor(
    private readonly upstream: Upstream,
    private readonly cache: WatchCache,
    private readonly options: CacheFeedOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 1_000;
  }

  /** True once a listing is loaded and the watch is live. */
  get ready(): boolean {
    return this.synced;
  }

  /** Resolves when `ready` first becomes true. */
  whenReady(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** The newest upstream revision heard of (watch headers, checks). */
  get upstreamRevision(): number {
    return Math.max(this.newestRevision, this.cache.revision);
  }

  /** Revisions the cache is behind the newest upstream revision heard of (0 when caught up). */
  get lagRevisions(): number {
    return this.upstreamRevision - this.cache.revision;
  }

  /** How long the cache has been behind the newest upstream revision heard of, in ms (0 when caught up). */
  lagMs(now: number): number {
    return this.behindSinceMs === 0 ? 0 : Math.max(0, now - this.behindSinceMs);
  }

  /** The upstream's cluster id, member id and term, for headers of cache-served responses. */
  get header(): proto.ResponseHeader {
    return this.lastHeader;
  }

  /**
   * Starts the list-then-watch loop; runs until close(). A cache that already holds a listing
   * (a feed restarted over it) resumes from its revision + 1 instead of listing again.
   */
  start(): void {
    void this.run();
  }

  /** Drops the current upstream watch; the loop resumes it from the cache's revision + 1. */
  reconnect(): void {
    this.stream?.cancel();
  }

  close(): void {
    this.closed = true;
    this.stream?.cancel();
  }

  /**
   * The cluster's current revision from one linearizable upstream read. Callers join the next
   * check that has not started yet, so its revision covers every write acknowledged before any
   * of them arrived; checks run one at a time. Under load a check waits a little after the
   * previous one started ({@link checkSpacingMs}), so each serves a large batch of reads: a
   * lone reader is not delayed, a busy proxy sends a few checks per thousand reads.
   */
  currentRevision(): Promise<number> {
    if (this.joinable !== undefined) {
      this.joinable.callers++;
      return this.joinable.revision;
    }
    const batch: { callers: number; revision: Promise<number> } = { callers: 1, revision: Promise.resolve(0) };
    batch.revision = this.lastCheck.then(async () => {
      const wait = this.lastCheckStart + checkSpacingMs(this.lastBatchSize) - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // From here on, new callers wait for the next check: this one may not cover them.
      if (this.joinable === batch) this.joinable = undefined;
      this.lastCheckStart = performance.now();
      this.lastBatchSize = batch.callers;
      return this.check();
    });
    this.joinable = batch;
    this.lastCheck = batch.revision.then(
      () => undefined,
      () => undefined,
    );
    return batch.revision;
  }

  private async check(): Promise<number> {
    this.options.onRevisionCheck?.();
    const res = await this.upstream.unary<proto.Decoded<proto.RangeResponse>>(
      'KV',
      'Range',
      // One key, so the check costs the member an index lookup, not a count of the keyspace.
      { key: REVISION_PROBE_KEY, countOnly: true },
      // Short, so a check stuck on a member that just died moves to the next one in time.
      { idempotent: true, timeoutMs: REVISION_CHECK_TIMEOUT_MS, toLeader: true },
    );
    const revision = proto.int64ToNumber(res.header?.revision, 'revision');
    this.noteHeader(res.header);
    return revision;
  }

  private async run(): Promise<void> {
    let backoff = BACKOFF_MS_MIN;
    let relist = this.cache.revision === 0;
    while (!this.closed) {
      const endpoint = this.upstream.endpoint;
      try {
        if (relist) {
          await this.list();
          relist = false;
        }
        const outcome = await this.watch(this.cache.revision + 1);
        if (outcome === 'compacted') {
          this.options.log?.(`upstream compacted past revision ${String(this.cache.revision + 1)}; listing again`);
          relist = true;
          continue;
        }
        backoff = BACKOFF_MS_MIN;
      } catch (e) {
        if (this.closed) return;
        this.options.log?.(`upstream ${endpoint}: ${(e as Error).message}; retrying`);
      }
      if (this.closed) return;
      this.upstream.rotate(endpoint);
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(BACKOFF_MS_MAX, backoff * 2);
    }
  }

  /** Loads every key at one revision, page by page (later pages pinned to the first's revision). */
  private async list(): Promise<void> {
    const kvs: KeyValue[] = [];
    let from: Uint8Array = WHOLE_KEYSPACE;
    let revision = 0;
    for (;;) {
      const res = await this.upstream.unary<proto.Decoded<proto.RangeResponse>>(
        'KV',
        'Range',
        { key: from, rangeEnd: WHOLE_KEYSPACE, limit: this.pageSize, revision },
        { idempotent: true },
      );
      if (revision === 0) {
        revision = proto.int64ToNumber(res.header?.revision, 'revision');
        this.noteHeader(res.header);
      }
      for (const kv of res.kvs) kvs.push(toKeyValue(kv));
      if (!res.more || res.kvs.length === 0) break;
      const last = res.kvs[res.kvs.length - 1]!.key;
      from = new Uint8Array(last.length + 1);
      from.set(last);
    }
    this.cache.reset(revision, kvs);
    if (this.cache.revision >= this.newestRevision) this.behindSinceMs = 0;
    this.options.log?.(`loaded ${String(kvs.length)} keys at revision ${String(revision)} from ${this.upstream.endpoint}`);
    this.options.onReset?.(revision);
  }

  /** Watches from `start` until the stream ends; 'compacted' when the upstream no longer has `start`. */
  private watch(start: number): Promise<'ended' | 'compacted'> {
    return new Promise((resolve, reject) => {
      const watchClient = this.upstream.client('Watch');
      const stream = watchClient.Watch() as unknown as grpc.ClientDuplexStream<unknown, proto.Decoded<proto.WatchResponse>>;
      this.stream = stream;
      let settled = false;
      const finish = (outcome: 'ended' | 'compacted' | Error): void => {
        if (settled) return;
        settled = true;
        this.stream = undefined;
        stream.cancel();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const onData = (res: proto.Decoded<proto.WatchResponse>) => {
        if (settled) return;
        try {
          this.noteHeader(res.header);
          if (res.canceled) {
            const compact = proto.int64ToNumber(res.compactRevision, 'compact_revision');
            finish(compact > 0 ? 'compacted' : new Error(`upstream canceled the watch: ${res.cancelReason || 'no reason'}`));
            return;
          }
          if (res.created) this.markReady();
          this.applyEvents(res.events);
        } catch (e) {
          finish(e as Error);
        }
      };
      // Order is kept: every response is held by the same delay.
      stream.on('data', FEED_DELAY_MS > 0 ? (res: proto.Decoded<proto.WatchResponse>) => void setTimeout(() => onData(res), FEED_DELAY_MS) : onData);
      stream.on('error', (e: Error) => finish(e));
      stream.on('end', () => finish(new Error('upstream watch stream ended')));
      stream.write({
        createRequest: { key: WHOLE_KEYSPACE, rangeEnd: WHOLE_KEYSPACE, startRevision: start, prevKv: true, progressNotify: true },
      });
    });
  }

  /** Applies a response's events, one revision at a time (a revision's events are never split). */
  private applyEvents(events: readonly proto.Decoded<proto.Event>[]): void {
    let i = 0;
    while (i < events.length) {
      const revision = proto.int64ToNumber(events[i]!.kv?.modRevision, 'mod_revision');
      const batch: KvEvent[] = [];
      while (i < events.length && proto.int64ToNumber(events[i]!.kv?.modRevision, 'mod_revision') === revision) {
        batch.push(toEvent(events[i]!));
        i++;
      }
      // A resumed stream may repeat what the cache has (a retried create): skip it.
      if (revision <= this.cache.revision) continue;
      this.cache.apply(revision, batch);
      if (this.cache.revision >= this.newestRevision) this.behindSinceMs = 0;
      this.options.onRevision?.(revision);
    }
  }

  private markReady(): void {
    if (this.synced) return;
    this.synced = true;
    for (const w of this.readyWaiters) w();
    this.readyWaiters = [];
  }

  private noteHeader(header: proto.Decoded<proto.ResponseHeader> | proto.ResponseHeader | null | undefined): void {
    if (header === null || header === undefined) return;
    const revision = proto.int64ToNumber(header.revision ?? 0, 'revision');
    if (revision > this.newestRevision) this.newestRevision = revision;
    if (this.newestRevision > this.cache.revision && this.behindSinceMs === 0) this.behindSinceMs = Date.now();
    if (this.newestRevision <= this.cache.revision) this.behindSinceMs = 0;
    this.lastHeader = { clusterId: header.clusterId ?? 0, memberId: header.memberId ?? 0, raftTerm: header.raftTerm ?? 0 };
  }
}

const EMPTY = new Uint8Array(0);

function toKeyValue(kv: WireKeyValue): KeyValue {
  return {
    key: kv.key,
    value: kv.value ?? EMPTY,
    createRevision: proto.int64ToNumber(kv.createRevision, 'create_revision'),
    modRevision: proto.int64ToNumber(kv.modRevision, 'mod_revision'),
    version: proto.int64ToNumber(kv.version, 'version'),
    lease: leaseOf(kv.lease),
  };
}

/**
 * etcd's lease ids use all 63 bits, beyond a JavaScript number. The cache never does arithmetic
 * on them, so an id past 2^53 is kept as the decoded int64 object itself and encoded back
 * exactly; only the type says number.
 */
function leaseOf(v: proto.Int64Like | null | undefined): number {
  if (v === null || v === undefined) return 0;
  const n = Number(v.toString());
  return Number.isSafeInteger(n) ? n : (v as unknown as number);
}

/** A decoded watch event as the cache and the watch hub hold it (prev_kv kept when sent). */
export function toEvent(e: proto.Decoded<proto.Event>): KvEvent {
  const kv = toKeyValue(e.kv!);
  const shaped: KvEvent = e.type === 1 ? { type: 'delete', kv: { ...kv, createRevision: 0, version: 0, value: EMPTY, lease: 0 } } : { type: 'put', kv };
  return e.prevKv ? { ...shaped, prevKv: toKeyValue(e.prevKv) } : shaped;
}
