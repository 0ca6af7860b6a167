// Lease service messages (etcdserverpb). Requests as decoded; responses as built.
// protobufjs camel-cases only a lower-case letter after '_', so `remaining_TTL`
// keeps its proto spelling while `grantedTTL`, `TTL` and `ID` are as written.
import type { Int64, Int64Like } from './int64.js';
import type { ResponseHeader } from './kv.js';

export interface LeaseGrantRequest {
  TTL: Int64;
  /** 0 lets the server choose */
  ID: Int64;
}

export interface LeaseGrantResponse {
  header?: ResponseHeader | null;
  ID?: Int64Like;
  TTL?: Int64Like;
  error?: string;
}

export interface LeaseRevokeRequest {
  ID: Int64;
}

export interface LeaseRevokeResponse {
  header?: ResponseHeader | null;
}

/** Internal (proposed through Raft), so request-shaped. */
export interface LeaseCheckpoint {
  ID: Int64;
  remaining_TTL: Int64;
}

export interface LeaseCheckpointRequest {
  checkpoints: LeaseCheckpoint[];
}

export interface LeaseCheckpointResponse {
  header?: ResponseHeader | null;
}

export interface LeaseKeepAliveRequest {
  ID: Int64;
}

export interface LeaseKeepAliveResponse {
  header?: ResponseHeader | null;
  ID?: Int64Like;
  TTL?: Int64Like;
}

export interface LeaseTimeToLiveRequest {
  ID: Int64;
  keys: boolean;
}

export interface LeaseTimeToLiveResponse {
  header?: ResponseHeader | null;
  ID?: Int64Like;
  TTL?: Int64Like;
  grantedTTL?: Int64Like;
  keys?: Uint8Array[];
}

/** No fields. */
export interface LeaseLeasesRequest {}

export interface LeaseStatus {
  ID?: Int64Like;
}

export interface LeaseLeasesResponse {
  header?: ResponseHeader | null;
  leases?: LeaseStatus[];
}
