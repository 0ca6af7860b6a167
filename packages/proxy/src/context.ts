/** What the proxy's gRPC services share: the cache, the upstream, the feed between them, sessions. */
import type { proto, WatchCache, WatchHub } from '@kvfleet/core';
import type { ProxyMetrics } from './proxy-metrics.js';
import type { RevisionWaiters } from './revision-waiters.js';
import type { SessionTable } from './session-table.js';
import type { CacheFeed } from './upstream/cache-feed.js';
import type { Upstream } from './upstream/upstream.js';

export type KvWriteMethod = 'Put' | 'DeleteRange' | 'Txn' | 'Compact';

export interface ProxyContext {
  readonly cache: WatchCache;
  readonly upstream: Upstream;
  readonly feed: CacheFeed;
  /** The watch hub over the cache; notified by the feed after each applied revision. */
  readonly hub: WatchHub;
  readonly waiters: RevisionWaiters;
  readonly sessions: SessionTable;
  readonly metrics: ProxyMetrics;
  /** How long a read waits for the cache to reach the revision it needs before it is forwarded. */
  readonly readWaitMs: number;
  /** True once the cache holds a listing and its watch is live. */
  isReady(): boolean;
  /** The cluster's current revision from one linearizable upstream check (batched across callers). */
  clusterRevision(): Promise<number>;
  /** A Range answered by the members. */
  forwardRange(request: proto.RangeRequest): Promise<proto.Decoded<proto.RangeResponse>>;
  /** A write answered by the members, response as they sent it. */
  forwardWrite<M extends KvWriteMethod>(method: M, request: unknown): Promise<{ header?: { revision?: unknown } | null } & Record<string, unknown>>;
  /** A response header at `revision` with the upstream's cluster id, member id and term. */
  header(revision: number): proto.ResponseHeader;
}
