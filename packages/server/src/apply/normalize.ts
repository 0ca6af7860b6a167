/**
 * From etcd's messages as protobufjs decodes them (int64 as Long, absent messages null) to the
 * apply layer's requests (plain numbers, defaults filled in). Used for client requests and for
 * the requests inside committed Raft entries alike, so both take the same path.
 */
import { normalizeRange, proto } from '@kvfleet/core';
import type {
  AlarmRequest,
  Compare,
  CompactionRequest,
  DeleteRangeRequest,
  InternalRequest,
  LeaseCheckpointRequest,
  LeaseGrantRequest,
  LeaseRevokeRequest,
  MemberAttributesRequest,
  PutRequest,
  RequestOp,
  TxnRequest,
} from './requests.js';

const num = proto.int64ToNumber;
const EMPTY = new Uint8Array(0);
const bytes = (b: Uint8Array | null | undefined): Uint8Array => b ?? EMPTY;

// Range normalization is shared with the proxy, so it lives in core.
export { normalizeRange };

export function normalizePut(r: proto.PutRequest): PutRequest {
  return {
    key: bytes(r.key),
    value: bytes(r.value),
    lease: num(r.lease, 'lease'),
    prevKv: r.prevKv === true,
    ignoreValue: r.ignoreValue === true,
    ignoreLease: r.ignoreLease === true,
  };
}

export function normalizeDeleteRange(r: proto.DeleteRangeRequest): DeleteRangeRequest {
  return { key: bytes(r.key), rangeEnd: bytes(r.rangeEnd), prevKv: r.prevKv === true };
}

function normalizeCompare(c: proto.Compare): Compare {
  return {
    result: c.result ?? 0,
    target: c.target ?? 0,
    key: bytes(c.key),
    rangeEnd: bytes(c.rangeEnd),
    version: num(c.version, 'compare.version'),
    createRevision: num(c.createRevision, 'compare.create_revision'),
    modRevision: num(c.modRevision, 'compare.mod_revision'),
    value: bytes(c.value),
    lease: num(c.lease, 'compare.lease'),
  };
}

function normalizeOp(op: proto.RequestOp): RequestOp {
  if (op.requestRange !== null && op.requestRange !== undefined) return { requestRange: normalizeRange(op.requestRange) };
  if (op.requestPut !== null && op.requestPut !== undefined) return { requestPut: normalizePut(op.requestPut) };
  if (op.requestDeleteRange !== null && op.requestDeleteRange !== undefined) {
    return { requestDeleteRange: normalizeDeleteRange(op.requestDeleteRange) };
  }
  if (op.requestTxn !== null && op.requestTxn !== undefined) return { requestTxn: normalizeTxn(op.requestTxn) };
  // etcd treats an empty RequestOp as a no-op range of nothing; an empty key is then rejected.
  return { requestRange: normalizeRange({} as proto.RangeRequest) };
}

export function normalizeTxn(r: proto.TxnRequest): TxnRequest {
  return {
    compare: (r.compare ?? []).map(normalizeCompare),
    success: (r.success ?? []).map(normalizeOp),
    failure: (r.failure ?? []).map(normalizeOp),
  };
}

export function normalizeCompaction(r: proto.CompactionRequest): CompactionRequest {
  return { revision: num(r.revision, 'revision'), physical: r.physical === true };
}

export function normalizeLeaseGrant(r: proto.LeaseGrantRequest): LeaseGrantRequest {
  return { TTL: num(r.TTL, 'TTL'), ID: num(r.ID, 'ID') };
}

export function normalizeLeaseRevoke(r: proto.LeaseRevokeRequest): LeaseRevokeRequest {
  return { ID: num(r.ID, 'ID') };
}

export function normalizeLeaseCheckpoint(r: proto.LeaseCheckpointRequest): LeaseCheckpointRequest {
  return {
    checkpoints: (r.checkpoints ?? []).map((c) => ({ ID: num(c.ID, 'ID'), remainingTTL: num(c.remaining_TTL, 'remaining_TTL') })),
  };
}

export function normalizeAlarm(r: proto.AlarmRequest): AlarmRequest {
  return { action: r.action ?? 0, memberID: num(r.memberID, 'memberID'), alarm: r.alarm ?? 0 };
}

export function normalizeMemberAttributes(r: proto.MemberAttributesRequest): MemberAttributesRequest {
  return { ID: num(r.ID, 'ID'), name: r.name ?? '', clientUrls: [...(r.clientUrls ?? [])] };
}

/** A committed entry's request, or undefined for a kind this member does not apply. */
export function normalizeInternal(r: proto.InternalRaftRequest): InternalRequest | undefined {
  const id = num(r.header?.ID, 'header.ID');
  if (r.put) return { id, put: normalizePut(r.put) };
  if (r.deleteRange) return { id, deleteRange: normalizeDeleteRange(r.deleteRange) };
  if (r.txn) return { id, txn: normalizeTxn(r.txn) };
  if (r.compaction) return { id, compaction: normalizeCompaction(r.compaction) };
  if (r.leaseGrant) return { id, leaseGrant: normalizeLeaseGrant(r.leaseGrant) };
  if (r.leaseRevoke) return { id, leaseRevoke: normalizeLeaseRevoke(r.leaseRevoke) };
  if (r.leaseCheckpoint) return { id, leaseCheckpoint: normalizeLeaseCheckpoint(r.leaseCheckpoint) };
  if (r.alarm) return { id, alarm: normalizeAlarm(r.alarm) };
  if (r.memberAttributes) return { id, memberAttributes: normalizeMemberAttributes(r.memberAttributes) };
  return undefined;
}
