/**
 * What etcd's concurrency recipes (lock, election) need from a store: etcd runs them through a
 * client of its own KV; kvfleet runs them on the member directly ({@link MemberKv}). Keeping the
 * recipes behind this seam keeps them free of Raft, gRPC and timers.
 */
import type { RangeRequest, TxnRequest, TxnResult } from '../apply/requests.js';
import type { KeyValue } from '../mvcc/kv-record.js';
import type { KvEvent } from '../mvcc/kv-store.js';

export interface ConcurrencyKv {
  /** A txn through consensus; resolves once applied, with the store revision after it. */
  txn(req: TxnRequest): Promise<{ readonly revision: number; readonly result: TxnResult }>;
  /** Deletes one key through consensus (etcd's Delete). */
  deleteKey(key: Uint8Array): Promise<{ readonly revision: number }>;
  /** A linearizable read; `revision` is the store revision it was served at. */
  range(req: RangeRequest): Promise<{ readonly revision: number; readonly kvs: readonly KeyValue[] }>;
  /** Grants a lease with a server-chosen id; resolves with the id. */
  grantLease(ttlSeconds: number): Promise<number>;
  /**
   * Watches `[key, rangeEnd)` (just `key` when rangeEnd is absent) from `startRevision`. The
   * sink may be called before this returns.
   */
  watch(request: KeyWatchRequest, sink: KeyWatchSink): KeyWatch;
}

export interface KeyWatchRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly startRevision: number;
}

export interface KeyWatchSink {
  /**
   * Changes of one or more whole revisions, in order; `revision` is the response header's.
   * Returning false pauses delivery (bounded, see WatchStream) until {@link KeyWatch.resume}.
   */
  events(revision: number, events: readonly KvEvent[]): boolean;
  /** The watch cannot deliver every change any more (history compacted, store replaced): re-read. */
  lost(): void;
}

export interface KeyWatch {
  resume(): void;
  /** Idempotent; nothing is delivered after it. */
  close(): void;
}
