/**
 * HashKV (etcd's hash.go): a digest of the key bucket's history above the compact revision, so
 * members holding the same history agree and a diverged one is found.
 */
import { crc32 } from '@kvfleet/core';
import type { ReadView } from '../backend/backend.js';
import { scanRaw } from './kv-read.js';
import { encodeRevision } from './revision.js';
import { encodeU64 } from './store-meta.js';

export interface HashKvResult {
  /** CRC-32 of the records in (compactRevision, revision] plus compactRevision. */
  readonly hash: number;
  readonly compactRevision: number;
  readonly revision: number;
}

/** CRC-32 over the records with main revision in (compactRevision, at], in revision order, then the compact revision. */
export function hashKeyBucket(view: ReadView, compactRevision: number, at: number): number {
  let crc = 0;
  const gte = encodeRevision({ main: compactRevision + 1, sub: 0 });
  const lt = encodeRevision({ main: at + 1, sub: 0 });
  for (const { key, value } of scanRaw(view, gte, lt)) {
    // Lengths before bytes, so no two different record sequences feed the same stream.
    crc = crc32(encodeU64(key.length), crc);
    crc = crc32(key, crc);
    crc = crc32(encodeU64(value.length), crc);
    crc = crc32(value, crc);
  }
  return crc32(encodeU64(compactRevision), crc);
}
