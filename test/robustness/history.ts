/**
 * What robustness traffic records: every client operation with when it was called and when it
 * returned, in one process-wide monotonic clock (performance.now() in ms), and its outcome.
 * An operation that failed or timed out may or may not have taken effect: its outcome is
 * `unknown` and the checkers treat it as returning at +Infinity.
 *
 * Keys and values are strings (the traffic writes UTF-8 only). Every put writes a value no other
 * put writes, so an event or a read names the one write it came from.
 */

export type CompareTarget = 'value' | 'mod' | 'create' | 'version';
export type CompareOp = '=' | '!=' | '>' | '<';

export interface Compare {
  readonly key: string;
  readonly target: CompareTarget;
  readonly op: CompareOp;
  /** A string for 'value', a number for the others. */
  readonly against: string | number;
}

/** An operation inside a txn branch. */
export type TxnOp =
  | { readonly type: 'put'; readonly key: string; readonly value: string; readonly lease?: string }
  | { readonly type: 'delete'; readonly key: string }
  | { readonly type: 'get'; readonly key: string };

export type KvRequest =
  /** A linearizable Range of one key, or of [key, end) when `end` is set. */
  | { readonly type: 'range'; readonly key: string; readonly end?: string }
  /** The same, serializable: may answer from an older revision; not part of linearizability. */
  | { readonly type: 'staleRange'; readonly key: string; readonly end?: string }
  | { readonly type: 'put'; readonly key: string; readonly value: string; readonly lease?: string }
  | { readonly type: 'delete'; readonly key: string; readonly end?: string }
  | { readonly type: 'txn'; readonly compares: readonly Compare[]; readonly success: readonly TxnOp[]; readonly failure: readonly TxnOp[] }
  /** Lease ids are decimal strings (etcd's use 63 bits). */
  | { readonly type: 'leaseGrant'; readonly ttl: number }
  | { readonly type: 'leaseRevoke'; readonly id: string }
  | { readonly type: 'compact'; readonly revision: number };

export interface KeyValueSeen {
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
  readonly createRevision: number;
  readonly version: number;
  /** '0' when the key has no lease. */
  readonly lease: string;
}

export type TxnOpResult = { readonly type: 'put' } | { readonly type: 'delete'; readonly deleted: number } | { readonly type: 'get'; readonly kvs: readonly KeyValueSeen[] };

export type KvResponse =
  | { readonly type: 'range'; readonly revision: number; readonly kvs: readonly KeyValueSeen[] }
  | { readonly type: 'put'; readonly revision: number }
  | { readonly type: 'delete'; readonly revision: number; readonly deleted: number }
  | { readonly type: 'txn'; readonly revision: number; readonly succeeded: boolean; readonly results: readonly TxnOpResult[] }
  | { readonly type: 'leaseGrant'; readonly revision: number; readonly id: string }
  | { readonly type: 'leaseRevoke'; readonly revision: number }
  | { readonly type: 'compact'; readonly revision: number };

export type Outcome =
  | { readonly status: 'ok'; readonly response: KvResponse }
  /** etcd answered with an error that means it did not happen (e.g. compacted, lease not found). */
  | { readonly status: 'failed'; readonly error: string }
  /** Timed out, connection lost, leader lost mid-request: it may or may not have happened. */
  | { readonly status: 'unknown'; readonly error: string };

export interface Operation {
  /** Unique within a history. */
  readonly id: number;
  /** Which client ran it (a client runs one operation at a time). */
  readonly client: number;
  readonly request: KvRequest;
  readonly callMs: number;
  /** When it returned; +Infinity for an unknown outcome. */
  readonly returnMs: number;
  readonly outcome: Outcome;
  /** Where it went (a member or proxy client URL), for reports. */
  readonly endpoint?: string;
}

/** One event a watch client received, in receive order. */
export interface WatchEventSeen {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
  readonly createRevision: number;
  readonly version: number;
  readonly prevKv?: KeyValueSeen;
}

/** One WatchResponse a watch client received. */
export interface WatchResponseSeen {
  readonly receivedMs: number;
  /** The response header's revision. */
  readonly revision: number;
  readonly events: readonly WatchEventSeen[];
  /** A progress notification (no events, not created/canceled). */
  readonly progressNotify: boolean;
  readonly canceled: boolean;
  readonly compactRevision: number;
  readonly created: boolean;
}

/** One watch a client opened (and possibly re-opened from its last revision + 1 after a failure). */
export interface WatchRecord {
  readonly id: number;
  readonly endpoint: string;
  readonly key: string;
  /** Set for a range watch [key, end). */
  readonly end?: string;
  readonly startRevision: number;
  readonly prevKv: boolean;
  readonly filters: { readonly noPut: boolean; readonly noDelete: boolean };
  readonly progressNotify: boolean;
  readonly responses: WatchResponseSeen[];
  /** Indices into `responses` where the stream broke and was resumed at last revision + 1. */
  readonly resumedAt: number[];
}
