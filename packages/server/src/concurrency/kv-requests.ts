/** The requests etcd's concurrency recipes send, built as the apply layer takes them. */
import { prefixEnd } from '@kvfleet/core';
import {
  CompareResult,
  CompareTarget,
  SortOrder,
  SortTarget,
  type Compare,
  type RangeRequest,
  type RangeResult,
  type RequestOp,
  type ResponseOp,
} from '../apply/requests.js';

const EMPTY = new Uint8Array(0);

/** The keys of a lock or election `name` live under `name/` (etcd's NewMutex, NewElection). */
export function recipePrefix(name: Uint8Array): Uint8Array {
  const out = new Uint8Array(name.length + 1);
  out.set(name);
  out[name.length] = 0x2f;
  return out;
}

/** `<prefix><lease in lower-case hex>`, as Go's `%x` prints an int64 (a minus sign for negatives). */
export function ownershipKey(prefix: Uint8Array, lease: number): Uint8Array {
  const hex = Buffer.from(lease.toString(16), 'latin1');
  const out = new Uint8Array(prefix.length + hex.length);
  out.set(prefix);
  out.set(hex, prefix.length);
  return out;
}

function rangeRequest(fields: Partial<RangeRequest> & { key: Uint8Array }): RangeRequest {
  return {
    rangeEnd: EMPTY,
    limit: 0,
    revision: 0,
    sortOrder: SortOrder.NONE,
    sortTarget: SortTarget.KEY,
    serializable: false,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...fields,
  };
}

export function getKey(key: Uint8Array): RangeRequest {
  return rangeRequest({ key });
}

/** The oldest key under `prefix` (clientv3's WithFirstCreate): a lock's owner, an election's leader. */
export function firstCreated(prefix: Uint8Array): RangeRequest {
  return rangeRequest({ key: prefix, rangeEnd: prefixEnd(prefix), limit: 1, sortOrder: SortOrder.ASCEND, sortTarget: SortTarget.CREATE });
}

/** The newest key under `prefix` created at or before `maxCreateRevision` (WithLastCreate + WithMaxCreateRev). */
export function lastCreatedUpTo(prefix: Uint8Array, maxCreateRevision: number): RangeRequest {
  return rangeRequest({
    key: prefix,
    rangeEnd: prefixEnd(prefix),
    limit: 1,
    sortOrder: SortOrder.DESCEND,
    sortTarget: SortTarget.CREATE,
    maxCreateRevision,
  });
}

export function createRevisionIs(key: Uint8Array, createRevision: number): Compare {
  return {
    result: CompareResult.EQUAL,
    target: CompareTarget.CREATE,
    key,
    rangeEnd: EMPTY,
    version: 0,
    createRevision,
    modRevision: 0,
    value: EMPTY,
    lease: 0,
  };
}

export function putOp(key: Uint8Array, value: Uint8Array, lease: number): RequestOp {
  return { requestPut: { key, value, lease, prevKv: false, ignoreValue: false, ignoreLease: false } };
}

export function getOp(req: RangeRequest): RequestOp {
  return { requestRange: req };
}

export function deleteOp(key: Uint8Array): RequestOp {
  return { requestDeleteRange: { key, rangeEnd: EMPTY, prevKv: false } };
}

/** The range answer at `index` of a txn's responses (the recipes know which ops they sent). */
export function rangeAt(responses: readonly ResponseOp[], index: number): RangeResult {
  const op = responses[index];
  if (op === undefined || !('responseRange' in op)) throw new Error(`concurrency: txn response ${index} is not a range`);
  return op.responseRange;
}
