// KV service messages (etcdserverpb) and the mvccpb records they carry.
// Requests: as protobufjs decodes them (all fields present, int64 as Long).
// Responses: plain objects a server builds (fields optional, int64 as Int64Like).
import type { Int64, Int64Like } from './int64.js';

export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];

export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
export type SortTarget = (typeof SortTarget)[keyof typeof SortTarget];

export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult];

export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;
export type CompareTarget = (typeof CompareTarget)[keyof typeof CompareTarget];

/** mvccpb.Event.EventType */
export const EventType = { PUT: 0, DELETE: 1 } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** etcdserverpb.ResponseHeader; every response starts with one. */
export interface ResponseHeader {
  clusterId?: Int64Like;
  memberId?: Int64Like;
  revision?: Int64Like;
  raftTerm?: Int64Like;
}

/** mvccpb.KeyValue */
export interface KeyValue {
  key?: Uint8Array;
  createRevision?: Int64Like;
  modRevision?: Int64Like;
  version?: Int64Like;
  value?: Uint8Array;
  lease?: Int64Like;
}

/** mvccpb.Event */
export interface Event {
  type?: EventType;
  kv?: KeyValue | null;
  prevKv?: KeyValue | null;
}

export interface RangeRequest {
  key: Uint8Array;
  rangeEnd: Uint8Array;
  limit: Int64;
  revision: Int64;
  /** a SortOrder value (unknown values survive decoding, hence number) */
  sortOrder: number;
  /** a SortTarget value */
  sortTarget: number;
  serializable: boolean;
  keysOnly: boolean;
  countOnly: boolean;
  minModRevision: Int64;
  maxModRevision: Int64;
  minCreateRevision: Int64;
  maxCreateRevision: Int64;
}

export interface RangeResponse {
  header?: ResponseHeader | null;
  kvs?: KeyValue[];
  more?: boolean;
  count?: Int64Like;
}

export interface PutRequest {
  key: Uint8Array;
  value: Uint8Array;
  lease: Int64;
  prevKv: boolean;
  ignoreValue: boolean;
  ignoreLease: boolean;
}

export interface PutResponse {
  header?: ResponseHeader | null;
  prevKv?: KeyValue | null;
}

export interface DeleteRangeRequest {
  key: Uint8Array;
  rangeEnd: Uint8Array;
  prevKv: boolean;
}

export interface DeleteRangeResponse {
  header?: ResponseHeader | null;
  deleted?: Int64Like;
  prevKvs?: KeyValue[];
}

/** One operation of a Txn branch; `request` names the member that is set. */
export interface RequestOp {
  request: 'requestRange' | 'requestPut' | 'requestDeleteRange' | 'requestTxn' | undefined;
  requestRange: RangeRequest | null;
  requestPut: PutRequest | null;
  requestDeleteRange: DeleteRangeRequest | null;
  requestTxn: TxnRequest | null;
}

/** Set exactly one member. */
export interface ResponseOp {
  responseRange?: RangeResponse | null;
  responsePut?: PutResponse | null;
  responseDeleteRange?: DeleteRangeResponse | null;
  responseTxn?: TxnResponse | null;
}

/**
 * One Txn guard. `targetUnion` names the oneof member that was sent; the other
 * members still read as their zero defaults, so look only at the named one.
 */
export interface Compare {
  /** a CompareResult value */
  result: number;
  /** a CompareTarget value */
  target: number;
  key: Uint8Array;
  targetUnion: 'version' | 'createRevision' | 'modRevision' | 'value' | 'lease' | undefined;
  version: Int64;
  createRevision: Int64;
  modRevision: Int64;
  value: Uint8Array;
  lease: Int64;
  rangeEnd: Uint8Array;
}

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface TxnResponse {
  header?: ResponseHeader | null;
  succeeded?: boolean;
  responses?: ResponseOp[];
}

export interface CompactionRequest {
  revision: Int64;
  physical: boolean;
}

export interface CompactionResponse {
  header?: ResponseHeader | null;
}
