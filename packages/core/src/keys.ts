/**
 * etcd key and range arithmetic on raw byte keys, plus the request limits and
 * validation rules etcd applies before a KV request reaches the store.
 */

import { ETCD_ERRORS, type EtcdErrorEntry } from './etcd-errors.js';

/**
 * The range end `[0x00]`, which etcd reads as "every key >= key" (no upper
 * bound). Shared instance: treat it as read-only.
 */
export const FROM_KEY_END: Uint8Array = Uint8Array.of(0x00);

/** True when `end` is exactly `[0x00]`, the "to the end of the keyspace" marker. */
export function isFromKeyEnd(end: Uint8Array): boolean {
  return end.length === 1 && end[0] === 0x00;
}

/**
 * The smallest key greater than every key starting with `prefix` (etcd's
 * GetPrefixRangeEnd): trailing 0xff bytes are dropped and the last remaining
 * byte is incremented. When no such key exists (empty or all-0xff prefix) the
 * result is `[0x00]`, i.e. a from-key range. Always returns a fresh array.
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const b = prefix[i]!;
    if (b < 0xff) {
      // A copy even for a Buffer, whose slice() would share (and so change) the caller's bytes.
      const end = Uint8Array.prototype.slice.call(prefix, 0, i + 1);
      end[i] = b + 1;
      return end;
    }
  }
  return Uint8Array.of(0x00);
}

/** Unsigned bytewise comparison (etcd/bbolt key order): negative, 0 or positive. */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * How etcd interprets a (key, range_end) pair:
 * - `single`: range_end empty, just `key`;
 * - `from-key`: range_end `[0x00]`, every key >= `key`;
 * - `range`: the half-open interval [key, range_end);
 * - `empty`: range_end <= key (and not `[0x00]`), matches nothing.
 */
export type RangeKind = 'single' | 'from-key' | 'range' | 'empty';

/** Classify a request's key/range_end pair; a missing `rangeEnd` counts as empty. */
export function classifyRange(key: Uint8Array, rangeEnd?: Uint8Array): RangeKind {
  if (rangeEnd === undefined || rangeEnd.length === 0) return 'single';
  // [0x00] wins over the ordering test: ("\x00", "\x00") means the whole keyspace.
  if (isFromKeyEnd(rangeEnd)) return 'from-key';
  return compareKeys(rangeEnd, key) > 0 ? 'range' : 'empty';
}

/** Whether key `k` is selected by the request pair (`key`, `rangeEnd`). */
export function inRange(k: Uint8Array, key: Uint8Array, rangeEnd?: Uint8Array): boolean {
  switch (classifyRange(key, rangeEnd)) {
    case 'single':
      return compareKeys(k, key) === 0;
    case 'from-key':
      return compareKeys(k, key) >= 0;
    case 'range':
      return compareKeys(k, key) >= 0 && compareKeys(k, rangeEnd!) < 0;
    case 'empty':
      return false;
  }
}

/** etcd's default `--max-request-bytes`: 1.5 MiB (embed.DefaultMaxRequestBytes). */
export const MAX_REQUEST_BYTES = 1_572_864;

/** etcd's default `--max-txn-ops` (embed.DefaultMaxTxnOps). */
export const MAX_TXN_OPS = 128;

/**
 * The empty-key rule: Range, Put, DeleteRange (and txn compares) with an empty
 * key are rejected with "etcdserver: key is not provided". Returns that entry
 * for an empty key, undefined otherwise.
 */
export function checkKeyProvided(key: Uint8Array): EtcdErrorEntry | undefined {
  return key.length === 0 ? ETCD_ERRORS.ErrGRPCEmptyKey : undefined;
}

/**
 * Request-size admission: etcd rejects a proposal whose encoded size exceeds
 * the limit (strictly greater) with "etcdserver: request is too large".
 */
export function checkRequestSize(
  encodedBytes: number,
  maxRequestBytes: number = MAX_REQUEST_BYTES,
): EtcdErrorEntry | undefined {
  return encodedBytes > maxRequestBytes ? ETCD_ERRORS.ErrGRPCRequestTooLarge : undefined;
}

/** Per-branch operation counts of a txn request. */
export interface TxnOpCounts {
  readonly compare: number;
  readonly success: number;
  readonly failure: number;
}

/**
 * Txn size rule: etcd counts the largest of compare/success/failure (not their
 * sum) and rejects it when above the limit with "etcdserver: too many
 * operations in txn request". Only the top level is counted here; nested txns
 * draw on the same budget and must be checked by the caller.
 */
export function checkTxnOpCount(
  counts: TxnOpCounts,
  maxTxnOps: number = MAX_TXN_OPS,
): EtcdErrorEntry | undefined {
  const ops = Math.max(counts.compare, counts.success, counts.failure);
  return ops > maxTxnOps ? ETCD_ERRORS.ErrGRPCTooManyOps : undefined;
}
