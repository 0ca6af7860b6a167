/** A key's value at one revision, as stores, caches, reads and events hand it out (mvccpb.KeyValue with plain numbers). */
export interface KeyValue {
  readonly key: Uint8Array;
  /** Main revision that created the key in its current generation. */
  readonly createRevision: number;
  /** Main revision of this change. */
  readonly modRevision: number;
  /** 1 for the creating put, +1 per later put (0 in a tombstone). */
  readonly version: number;
  readonly value: Uint8Array;
  /** Lease id; 0 means no lease. */
  readonly lease: number;
}
