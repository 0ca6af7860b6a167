// Maintenance service messages (etcdserverpb): alarms, status, hashes, snapshot,
// defragment, leader transfer, downgrade. Requests as decoded; responses as built.
import type { Int64, Int64Like } from './int64.js';
import type { ResponseHeader } from './kv.js';

/** etcdserverpb.AlarmType (top-level in rpc.proto). */
export const AlarmType = { NONE: 0, NOSPACE: 1, CORRUPT: 2 } as const;
export type AlarmType = (typeof AlarmType)[keyof typeof AlarmType];

/** etcdserverpb.AlarmRequest.AlarmAction */
export const AlarmAction = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const;
export type AlarmAction = (typeof AlarmAction)[keyof typeof AlarmAction];

/** etcdserverpb.DowngradeRequest.DowngradeAction */
export const DowngradeAction = { VALIDATE: 0, ENABLE: 1, CANCEL: 2 } as const;
export type DowngradeAction = (typeof DowngradeAction)[keyof typeof DowngradeAction];

export interface AlarmRequest {
  /** an AlarmAction value */
  action: number;
  memberID: Int64;
  /** an AlarmType value */
  alarm: number;
}

export interface AlarmMember {
  memberID?: Int64Like;
  alarm?: AlarmType;
}

export interface AlarmResponse {
  header?: ResponseHeader | null;
  alarms?: AlarmMember[];
}

/** No fields. */
export interface StatusRequest {}

export interface StatusResponse {
  header?: ResponseHeader | null;
  version?: string;
  dbSize?: Int64Like;
  leader?: Int64Like;
  raftIndex?: Int64Like;
  raftTerm?: Int64Like;
  raftAppliedIndex?: Int64Like;
  errors?: string[];
  dbSizeInUse?: Int64Like;
  isLearner?: boolean;
}

/** No fields. */
export interface DefragmentRequest {}

export interface DefragmentResponse {
  header?: ResponseHeader | null;
}

/** No fields. */
export interface HashRequest {}

export interface HashResponse {
  header?: ResponseHeader | null;
  /** uint32 */
  hash?: number;
}

export interface HashKVRequest {
  revision: Int64;
}

export interface HashKVResponse {
  header?: ResponseHeader | null;
  /** uint32 */
  hash?: number;
  compactRevision?: Int64Like;
}

/** No fields. */
export interface SnapshotRequest {}

export interface SnapshotResponse {
  header?: ResponseHeader | null;
  remainingBytes?: Int64Like;
  blob?: Uint8Array;
}

export interface MoveLeaderRequest {
  targetID: Int64;
}

export interface MoveLeaderResponse {
  header?: ResponseHeader | null;
}

export interface DowngradeRequest {
  /** a DowngradeAction value */
  action: number;
  version: string;
}

export interface DowngradeResponse {
  header?: ResponseHeader | null;
  version?: string;
}
