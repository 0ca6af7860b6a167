// kvfleetpb.InternalRaftRequest: the payload of a Raft log entry. Decoded shape
// (the apply loop reads it); encode from the decoded client requests directly.
import type { Int64 } from './int64.js';
import type { CompactionRequest, DeleteRangeRequest, PutRequest, RangeRequest, TxnRequest } from './kv.js';
import type { LeaseCheckpointRequest, LeaseGrantRequest, LeaseRevokeRequest } from './lease.js';
import type { AlarmRequest } from './maintenance.js';
import type { Init } from './message-shapes.js';
import { decodeMessage, encodeMessage } from './loader.js';

export const INTERNAL_RAFT_REQUEST = 'kvfleetpb.InternalRaftRequest';

export interface RequestHeader {
  /** proposal id, unique per proposer, to match the applied result to its waiter */
  ID: Int64;
}

/** `request` names the one member that is set. */
export interface InternalRaftRequest {
  header: RequestHeader | null;
  request:
    | 'range'
    | 'put'
    | 'deleteRange'
    | 'txn'
    | 'compaction'
    | 'leaseGrant'
    | 'leaseRevoke'
    | 'alarm'
    | 'leaseCheckpoint'
    | 'memberAttributes'
    | undefined;
  range: RangeRequest | null;
  put: PutRequest | null;
  deleteRange: DeleteRangeRequest | null;
  txn: TxnRequest | null;
  compaction: CompactionRequest | null;
  leaseGrant: LeaseGrantRequest | null;
  leaseRevoke: LeaseRevokeRequest | null;
  alarm: AlarmRequest | null;
  leaseCheckpoint: LeaseCheckpointRequest | null;
  memberAttributes: MemberAttributesRequest | null;
}

/** A member's published name and client URLs (kvfleet's own request kind). */
export interface MemberAttributesRequest {
  ID: Int64;
  name: string;
  clientUrls: string[];
}

/** Entry bytes for a proposal; set `header` and exactly one request member. */
export function encodeInternalRaftRequest(req: Init<InternalRaftRequest>): Uint8Array {
  return encodeMessage(INTERNAL_RAFT_REQUEST, req);
}

/** Decodes a committed entry's bytes. */
export function decodeInternalRaftRequest(bytes: Uint8Array): InternalRaftRequest {
  return decodeMessage<InternalRaftRequest>(INTERNAL_RAFT_REQUEST, bytes);
}
