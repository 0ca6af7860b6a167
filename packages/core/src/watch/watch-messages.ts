/**
 * The watch protocol's messages as plain objects: what a client asks for and what a stream
 * hands its sink. They mirror etcd's WatchCreateRequest and WatchResponse minus gRPC framing
 * (the gRPC layer adds cluster/member ids and term to the header, and fragments).
 */
import type { KvEvent } from '../kv/kv-event.js';

/** etcd's InvalidWatchID: a create that failed, and a progress response for the whole stream. */
export const INVALID_WATCH_ID = -1;

/** etcd's texts for refused creates (mvcc/watcher.go); clients may match on them. */
export const ERR_EMPTY_WATCHER_RANGE = 'mvcc: watcher range is empty';
export const ERR_WATCHER_DUPLICATE_ID = 'mvcc: duplicate watch ID provided on the WatchStream';

export interface WatchCreateRequest {
  /** First key; empty means [0x00], the smallest key (as etcd does). */
  readonly key: Uint8Array;
  /** Absent or empty: just `key`; [0x00]: every key >= `key`; else [key, rangeEnd). */
  readonly rangeEnd?: Uint8Array;
  /** First revision to report; 0 or absent: the next one. */
  readonly startRevision?: number;
  /** The client's id for the watch; 0 or absent lets the stream pick one. */
  readonly watchId?: number;
  readonly prevKv?: boolean;
  /** Drop put events (etcd's NOPUT filter). */
  readonly noPut?: boolean;
  /** Drop delete events (etcd's NODELETE filter). */
  readonly noDelete?: boolean;
  /** Send an empty response at each progress tick in which the watch got nothing. */
  readonly progressNotify?: boolean;
}

export interface WatchResponse {
  readonly watchId: number;
  readonly created?: boolean;
  readonly canceled?: boolean;
  readonly cancelReason?: string;
  /** Set (with canceled) when the watch's next revision is compacted. */
  readonly compactRevision?: number;
  /** Changes in revision order; a revision's changes are never split across responses. */
  readonly events: KvEvent[];
  /**
   * The header revision: the hub's current revision when the response was made, so at least
   * every event's revision. 0 on a compaction cancel, as etcd sends.
   */
  readonly revision: number;
}

/**
 * Where a stream's responses go (the gRPC write side). Returns false when the transport's
 * buffer is full: the response is taken, but the stream holds later ones until
 * {@link WatchStream.resume} is called, like a Node writable's write/'drain'.
 */
export type WatchSink = (response: WatchResponse) => boolean;

export interface WatchStreamOptions {
  /** Responses held while the sink is paused before the stream counts as full (default 128, etcd's chanBufLen). */
  readonly maxQueuedResponses?: number;
  /** Estimated bytes held while paused before the stream counts as full (default 4 MiB). */
  readonly maxQueuedBytes?: number;
  /**
   * A progress request while some watcher is unsynced: 'defer' answers once all are synced
   * (etcd 3.4.25-3.4.30 / 3.5.8-3.5.12); 'drop' ignores it (etcd >= 3.5.13, clients re-ask).
   * Default 'defer'.
   */
  readonly unsyncedProgress?: 'defer' | 'drop';
}

/** A rough wire size of a response, for the byte bound of a stream's queue. */
export function responseBytes(r: WatchResponse): number {
  let n = 32;
  for (const e of r.events) {
    n += 48 + e.kv.key.length + e.kv.value.length;
    if (e.prevKv !== undefined) n += 48 + e.prevKv.key.length + e.prevKv.value.length;
  }
  return n;
}
