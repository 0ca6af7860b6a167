/**
 * Byte-string helpers shared by the store, the lessor, the WAL and snapshots: one home, so a
 * fix (the crc32 workaround below) reaches every caller.
 */

import { crc32 as zlibCrc32 } from 'node:zlib';

/** Unsigned byte-order comparison: negative, zero or positive (native, for sorts and backends). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** The smallest byte string greater than `key` (`key` + 0x00): the next start of a paged scan. */
export function keySuccessor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

/** Hex of the bytes, without copying them: a map key for byte strings. */
export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * CRC-32 (IEEE) of `data` continuing from `crc`. Empty input is skipped: on Node 20, zlib.crc32
 * of an empty array over a zero-length ArrayBuffer (as lmdb-js returns for empty values)
 * returns 0 instead of `crc`.
 */
export function crc32(data: Uint8Array, crc = 0): number {
  return data.length === 0 ? crc : zlibCrc32(data, crc);
}

/** True if `value` looks like a promise (a callback that must be synchronous returned one). */
export function isThenable(value: unknown): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
