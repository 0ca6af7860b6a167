/**
 * The KV and lease requests as the apply layer sees them: etcd's messages (same names, camelCase
 * fields) with every int64 already checked and turned into a JavaScript number and every absent
 * field given its protobuf default. The gRPC layer and the Raft entry decoder both produce these.
 */
import type { KeyValue, RangeRequest, RangeResult } from '@kvfleet/core';

// Range reading is shared with the proxy's watch cache, so it lives in core.
export { SortOrder, SortTarget, type RangeRequest, type RangeResult } from '@kvfleet/core';

export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;

export interface PutRequest {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly lease: number;
  readonly prevKv: boolean;
  readonly ignoreValue: boolean;
  readonly ignoreLease: boolean;
}

export interface DeleteRangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
  readonly prevKv: boolean;
}

export interface Compare {
  readonly result: number;
  readonly target: number;
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
  /** The operand for `target`; only the one matching the target is meaningful. */
  readonly version: number;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly value: Uint8Array;
  readonly lease: number;
}

export type RequestOp =
  | { readonly requestRange: RangeRequest }
  | { readonly requestPut: PutRequest }
  | { readonly requestDeleteRange: DeleteRangeRequest }
  | { readonly requestTxn: TxnRequest };

export interface TxnRequest {
  readonly compare: readonly Compare[];
  readonly success: readonly RequestOp[];
  readonly failure: readonly RequestOp[];
}

export interface CompactionRequest {
  readonly revision: number;
  readonly physical: boolean;
}

export interface LeaseGrantRequest {
  readonly TTL: number;
  readonly ID: number;
}

export interface LeaseRevokeRequest {
  readonly ID: number;
}

export interface LeaseCheckpoint {
  readonly ID: number;
  readonly remainingTTL: number;
}

export interface LeaseCheckpointRequest {
  readonly checkpoints: readonly LeaseCheckpoint[];
}

/** etcd's AlarmRequest: action GET/ACTIVATE/DEACTIVATE, alarm NONE/NOSPACE/CORRUPT (proto.AlarmAction, proto.AlarmType). */
export interface AlarmRequest {
  readonly action: number;
  readonly memberID: number;
  readonly alarm: number;
}

/** A member's name and client URLs, published through Raft when it starts (etcd's member attributes). */
export interface MemberAttributesRequest {
  readonly ID: number;
  readonly name: string;
  readonly clientUrls: string[];
}

/**
 * Every kind of proposal: its request and the body its apply answers with (the gRPC layer adds
 * the header). The member's `propose` is typed by it, so a caller gets its kind's result.
 */
export interface Proposals {
  readonly put: { readonly request: PutRequest; readonly result: PutResult };
  readonly deleteRange: { readonly request: DeleteRangeRequest; readonly result: DeleteRangeResult };
  readonly txn: { readonly request: TxnRequest; readonly result: TxnResult };
  readonly compaction: { readonly request: CompactionRequest; readonly result: EmptyResult };
  readonly leaseGrant: { readonly request: LeaseGrantRequest; readonly result: LeaseGrantResult };
  readonly leaseRevoke: { readonly request: LeaseRevokeRequest; readonly result: EmptyResult };
  readonly leaseCheckpoint: { readonly request: LeaseCheckpointRequest; readonly result: EmptyResult };
  readonly alarm: { readonly request: AlarmRequest; readonly result: AlarmResult };
  readonly memberAttributes: { readonly request: MemberAttributesRequest; readonly result: EmptyResult };
}

export type ProposalKind = keyof Proposals;

/** A proposal of the kinds `K`: `{ put: PutRequest }` and so on. */
export type ProposalOf<K extends ProposalKind> = { readonly [P in K]: Proposals[P]['request'] };

/** One proposal's body: exactly one request. */
export type Proposal = { [K in ProposalKind]: ProposalOf<K> }[ProposalKind];

/** What applying a proposal of kind `K` answers with. */
export type ProposalResult<K extends ProposalKind> = Proposals[K]['result'];

/** One proposal as the Raft entry carries it: the request and the id the proposer waits on. */
export type InternalRequest = { readonly id: number } & Proposal;

/** Response bodies; the gRPC layer adds the header. */
export interface PutResult {
  readonly prevKv?: KeyValue;
}

export interface DeleteRangeResult {
  readonly deleted: number;
  readonly prevKvs: KeyValue[];
}

export type ResponseOp =
  | { readonly responseRange: RangeResult }
  | { readonly responsePut: PutResult }
  | { readonly responseDeleteRange: DeleteRangeResult }
  | { readonly responseTxn: TxnResult };

export interface TxnResult {
  readonly succeeded: boolean;
  readonly responses: ResponseOp[];
}

export interface LeaseGrantResult {
  readonly ID: number;
  readonly TTL: number;
}

/** etcd's AlarmMember: an alarm raised by one member. */
export interface AlarmMember {
  readonly memberID: number;
  readonly alarm: number;
}

/** The alarms after an Alarm request (GET, ACTIVATE or DEACTIVATE). */
export interface AlarmResult {
  readonly alarms: readonly AlarmMember[];
}

/** A request answered by the header alone. */
export type EmptyResult = Record<string, never>;
