// Watch service messages (etcdserverpb). Requests as decoded; responses as built.
import type { Int64, Int64Like } from './int64.js';
import type { Event, ResponseHeader } from './kv.js';

/** etcdserverpb.WatchCreateRequest.FilterType: which events a watcher drops. */
export const FilterType = { NOPUT: 0, NODELETE: 1 } as const;
export type FilterType = (typeof FilterType)[keyof typeof FilterType];

/** `requestUnion` names the member that is set. */
export interface WatchRequest {
  requestUnion: 'createRequest' | 'cancelRequest' | 'progressRequest' | undefined;
  createRequest: WatchCreateRequest | null;
  cancelRequest: WatchCancelRequest | null;
  progressRequest: WatchProgressRequest | null;
}

export interface WatchCreateRequest {
  key: Uint8Array;
  rangeEnd: Uint8Array;
  startRevision: Int64;
  progressNotify: boolean;
  /** FilterType values */
  filters: number[];
  prevKv: boolean;
  watchId: Int64;
  fragment: boolean;
}

export interface WatchCancelRequest {
  watchId: Int64;
}

/** No fields: asks for a progress notification on the stream. */
export interface WatchProgressRequest {}

export interface WatchResponse {
  header?: ResponseHeader | null;
  watchId?: Int64Like;
  created?: boolean;
  canceled?: boolean;
  compactRevision?: Int64Like;
  cancelReason?: string;
  fragment?: boolean;
  events?: Event[];
}
