// Cluster service messages (etcdserverpb). Requests as decoded; responses as built.
import type { Int64, Int64Like } from './int64.js';
import type { ResponseHeader } from './kv.js';

export interface Member {
  ID?: Int64Like;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

export interface MemberAddRequest {
  peerURLs: string[];
  isLearner: boolean;
}

export interface MemberAddResponse {
  header?: ResponseHeader | null;
  member?: Member | null;
  members?: Member[];
}

export interface MemberRemoveRequest {
  ID: Int64;
}

export interface MemberRemoveResponse {
  header?: ResponseHeader | null;
  members?: Member[];
}

export interface MemberUpdateRequest {
  ID: Int64;
  peerURLs: string[];
}

export interface MemberUpdateResponse {
  header?: ResponseHeader | null;
  members?: Member[];
}

export interface MemberListRequest {
  linearizable: boolean;
}

export interface MemberListResponse {
  header?: ResponseHeader | null;
  members?: Member[];
}

export interface MemberPromoteRequest {
  ID: Int64;
}

export interface MemberPromoteResponse {
  header?: ResponseHeader | null;
  members?: Member[];
}
