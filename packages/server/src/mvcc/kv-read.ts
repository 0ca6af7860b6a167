/**
 * Reading bucket `key`: the record a revision names, paged scans in revision order, and the
 * argument checks every read and write shares.
 */
import { keySuccessor } from '@kvfleet/core';
import type { ReadView } from '../backend/backend.js';
import { MvccError } from './errors.js';
import { type KeyValue, decodeKeyValue } from './kv-record.js';
import { type Revision, decodeRevision, encodeRevision } from './revision.js';
import { KEY_BUCKET } from './store-meta.js';

/** Records read per range call when scanning bucket `key`. */
const SCAN_PAGE = 1000;
export const EMPTY = new Uint8Array(0);

export interface ReadOptions {
  /** Most kvs to return; 0 or absent for no limit. */
  readonly limit?: number;
  /** Return only the count (kvs empty). */
  readonly countOnly?: boolean;
  /** Return kvs with empty values. */
  readonly keysOnly?: boolean;
}

export interface RangeOptions extends ReadOptions {
  /** Store revision to read at; 0 or absent for the current one. */
  readonly revision?: number;
}

export interface RangeResult {
  /** Visible kvs in key byte order, at most `limit`. */
  readonly kvs: KeyValue[];
  /** Every visible key in the range, regardless of the limit. */
  readonly count: number;
  /** True if the limit cut `kvs` short. */
  readonly more: boolean;
  /** The store revision the read was served at (the current revision, as in etcd). */
  readonly revision: number;
}

export function readRecord(view: ReadView, rev: Revision): KeyValue {
  const bytes = view.get(KEY_BUCKET, encodeRevision(rev));
  if (bytes === undefined) {
    throw new MvccError('ErrMvccCorrupt', `indexed revision ${String(rev.main)}.${String(rev.sub)} missing from the backend`);
  }
  return decodeKeyValue(bytes);
}

/** The records of bucket `key` in [gte, lt), decoded, a page at a time. */
export function* scanRecords(
  view: ReadView,
  gte: Uint8Array | undefined,
  lt: Uint8Array | undefined,
): Generator<{ rev: Revision; tombstone: boolean; kv: KeyValue }> {
  for (const { key, value } of scanRaw(view, gte, lt)) {
    const { revision, tombstone } = decodeRevision(key);
    yield { rev: revision, tombstone, kv: decodeKeyValue(value) };
  }
}

export function* scanRaw(view: ReadView, gte: Uint8Array | undefined, lt: Uint8Array | undefined): Generator<{ key: Uint8Array; value: Uint8Array }> {
  let from = gte;
  for (;;) {
    const page = view.range(KEY_BUCKET, { gte: from, lt, limit: SCAN_PAGE });
    yield* page;
    if (page.length < SCAN_PAGE) return;
    from = keySuccessor(page[page.length - 1]!.key);
  }
}

export function shape(kv: KeyValue, keysOnly: boolean): KeyValue {
  return keysOnly ? { ...kv, value: EMPTY } : kv;
}

export function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length === 0) {
    throw new MvccError('ErrMvccInvalidArgument', 'key must be a non-empty Uint8Array');
  }
}

export function checkLimit(limit: number | undefined): number {
  const n = limit ?? 0;
  if (!Number.isSafeInteger(n) || n < 0) throw new MvccError('ErrMvccInvalidArgument', `limit ${String(n)} is not a non-negative integer`);
  return n;
}

export function checkRevisionNumber(rev: number): void {
  if (!Number.isSafeInteger(rev) || rev < 0) {
    throw new MvccError('ErrMvccInvalidArgument', `revision ${String(rev)} is not a non-negative integer`);
  }
}
