// Election service messages (v3electionpb). Requests as decoded; responses as built.
import type { Int64, Int64Like } from './int64.js';
import type { KeyValue, ResponseHeader } from './kv.js';
import type { Decoded } from './message-shapes.js';

/** One leadership term: returned by Campaign, presented to Proclaim and Resign. */
export interface LeaderKey {
  name?: Uint8Array;
  key?: Uint8Array;
  rev?: Int64Like;
  lease?: Int64Like;
}

export interface CampaignRequest {
  name: Uint8Array;
  lease: Int64;
  value: Uint8Array;
}

export interface CampaignResponse {
  header?: ResponseHeader | null;
  leader?: LeaderKey | null;
}

export interface ProclaimRequest {
  leader: Decoded<LeaderKey> | null;
  value: Uint8Array;
}

export interface ProclaimResponse {
  header?: ResponseHeader | null;
}

/** Used by both Leader and Observe. */
export interface LeaderRequest {
  name: Uint8Array;
}

export interface LeaderResponse {
  header?: ResponseHeader | null;
  kv?: KeyValue | null;
}

export interface ResignRequest {
  leader: Decoded<LeaderKey> | null;
}

export interface ResignResponse {
  header?: ResponseHeader | null;
}
