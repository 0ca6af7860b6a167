/**
 * A Range request as every reader of a keyspace sees it (a member's store, a proxy's watch
 * cache): etcd's message with each int64 checked and turned into a number and every absent field
 * given its protobuf default, plus the checks etcd's gRPC layer makes before reading.
 */
import { EtcdError, ETCD_ERRORS } from '../etcd-errors.js';
import { int64ToNumber } from '../proto/int64.js';
import type { RangeRequest as WireRangeRequest } from '../proto/kv.js';
import type { KeyValue } from './key-value.js';

export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;

export interface RangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
  readonly limit: number;
  readonly revision: number;
  readonly sortOrder: number;
  readonly sortTarget: number;
  readonly serializable: boolean;
  readonly keysOnly: boolean;
  readonly countOnly: boolean;
  readonly minModRevision: number;
  readonly maxModRevision: number;
  readonly minCreateRevision: number;
  readonly maxCreateRevision: number;
}

export interface RangeResult {
  readonly kvs: KeyValue[];
  readonly more: boolean;
  readonly count: number;
  /** The revision the read saw, when it differs from the response's (a range inside a txn before the txn's writes). */
  readonly revision?: number;
}

const EMPTY = new Uint8Array(0);

/** From the decoded wire message (int64 as Long, absent fields null) to a RangeRequest; bad int64s throw etcd's error. */
export function normalizeRange(r: WireRangeRequest): RangeRequest {
  const num = int64ToNumber;
  return {
    key: r.key ?? EMPTY,
    rangeEnd: r.rangeEnd ?? EMPTY,
    limit: num(r.limit, 'limit'),
    revision: num(r.revision, 'revision'),
    sortOrder: r.sortOrder ?? 0,
    sortTarget: r.sortTarget ?? 0,
    serializable: r.serializable === true,
    keysOnly: r.keysOnly === true,
    countOnly: r.countOnly === true,
    minModRevision: num(r.minModRevision, 'min_mod_revision'),
    maxModRevision: num(r.maxModRevision, 'max_mod_revision'),
    minCreateRevision: num(r.minCreateRevision, 'min_create_revision'),
    maxCreateRevision: num(r.maxCreateRevision, 'max_create_revision'),
  };
}

/** etcd's v3rpc checks on a Range, with its errors: an empty key, an unknown sort option. */
export function checkRangeRequest(r: RangeRequest): void {
  if (r.key.length === 0) throw new EtcdError(ETCD_ERRORS.ErrGRPCEmptyKey);
  if (!Object.values(SortOrder).includes(r.sortOrder as 0)) throw new EtcdError(ETCD_ERRORS.ErrGRPCInvalidSortOption);
  if (!Object.values(SortTarget).includes(r.sortTarget as 0)) throw new EtcdError(ETCD_ERRORS.ErrGRPCInvalidSortOption);
}
