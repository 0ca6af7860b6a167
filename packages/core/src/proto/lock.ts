// Lock service messages (v3lockpb). Requests as decoded; responses as built.
import type { Int64 } from './int64.js';
import type { ResponseHeader } from './kv.js';

export interface LockRequest {
  name: Uint8Array;
  lease: Int64;
}

export interface LockResponse {
  header?: ResponseHeader | null;
  /** the ownership key to pass to Unlock */
  key?: Uint8Array;
}

export interface UnlockRequest {
  key: Uint8Array;
}

export interface UnlockResponse {
  header?: ResponseHeader | null;
}
