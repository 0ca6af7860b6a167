/**
 * The KeyValue record: what the store keeps in backend bucket `key` under each revision, and
 * what reads and events hand out. The binary layout (all integers big-endian):
 *
 *   u8      format version (1)
 *   u64     createRevision   main revision that created the key in its current generation
 *   u64     modRevision      main revision of this change
 *   u64     version          1 for the creating put, +1 per later put (0 in a tombstone)
 *   u64     lease            lease id, 0 for none
 *   u32     key length, then the key bytes (at least one)
 *   u32     value length, then the value bytes
 *
 * The record carries createRevision and version itself (as etcd's does) because compaction
 * removes the history the key index would need to recompute them after a restart.
 * Decoding checks every length and number, so a damaged record fails loudly
 * (`ErrMvccCorrupt`) instead of being served as data.
 */
import type { KeyValue } from '@kvfleet/core';
import { MvccError } from './errors.js';

export type { KeyValue } from '@kvfleet/core';

export const KV_RECORD_FORMAT = 1;
const FIXED_BYTES = 1 + 4 * 8 + 4 + 4;
const TWO_POW_32 = 2 ** 32;

/** Encodes `kv`; throws `ErrMvccInvalidArgument` for an empty key or a number that is not a non-negative safe integer. */
export function encodeKeyValue(kv: KeyValue): Uint8Array {
  if (kv.key.length === 0) throw new MvccError('ErrMvccInvalidArgument', 'empty key');
  const out = new Uint8Array(FIXED_BYTES + kv.key.length + kv.value.length);
  const view = new DataView(out.buffer);
  out[0] = KV_RECORD_FORMAT;
  let at = 1;
  for (const [name, n] of [
    ['createRevision', kv.createRevision],
    ['modRevision', kv.modRevision],
    ['version', kv.version],
    ['lease', kv.lease],
  ] as const) {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new MvccError('ErrMvccInvalidArgument', `${name} ${String(n)} is not a non-negative safe integer`);
    }
    view.setUint32(at, Math.floor(n / TWO_POW_32));
    view.setUint32(at + 4, n % TWO_POW_32);
    at += 8;
  }
  view.setUint32(at, kv.key.length);
  out.set(kv.key, at + 4);
  at += 4 + kv.key.length;
  view.setUint32(at, kv.value.length);
  out.set(kv.value, at + 4);
  return out;
}

/** Decodes a record written by {@link encodeKeyValue}; throws `ErrMvccCorrupt` on any inconsistency. */
export function decodeKeyValue(bytes: Uint8Array): KeyValue {
  if (bytes.length < FIXED_BYTES) corrupt(`record has ${String(bytes.length)} bytes, want at least ${String(FIXED_BYTES)}`);
  if (bytes[0] !== KV_RECORD_FORMAT) corrupt(`unknown record format ${String(bytes[0])}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nums: number[] = [];
  let at = 1;
  for (let i = 0; i < 4; i++) {
    const high = view.getUint32(at);
    // 2^53 - 1 has 0x1fffff as its high half; anything above cannot be a JS safe integer.
    if (high > 0x1fffff) corrupt('number exceeds Number.MAX_SAFE_INTEGER');
    nums.push(high * TWO_POW_32 + view.getUint32(at + 4));
    at += 8;
  }
  const keyLen = view.getUint32(at);
  at += 4;
  if (keyLen === 0) corrupt('empty key');
  if (at + keyLen + 4 > bytes.length) corrupt('key length runs past the record');
  // slice: the caller owns the result, independent of the backend's buffer.
  const key = bytes.slice(at, at + keyLen);
  at += keyLen;
  const valueLen = view.getUint32(at);
  at += 4;
  if (at + valueLen !== bytes.length) corrupt('value length does not match the record size');
  const value = bytes.slice(at, at + valueLen);
  return { key, createRevision: nums[0]!, modRevision: nums[1]!, version: nums[2]!, lease: nums[3]!, value };
}

function corrupt(detail: string): never {
  throw new MvccError('ErrMvccCorrupt', `kv record: ${detail}`);
}
