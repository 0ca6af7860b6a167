/**
 * The on-disk form of a Raft snapshot's metadata (`<term>-<index>.snap`): index, term, the
 * configuration, and Raft's opaque data, with a CRC so a damaged file is detected, never used.
 *
 * The state machine's contents are not in it: they live in the backend, whose consistent
 * index says which entry they reflect. A snapshot received from the leader (or taken on a
 * member whose backend is not durable) also has its backend image beside it as
 * `<term>-<index>.snap.db`.
 *
 * Layout (big-endian): "KVSN" | u32 version | u64 index | u64 term | u32 nVoters | u64 voters… |
 * u32 nLearners | u64 learners… | u32 dataLength | data | u32 crc32(all of the above).
 */
import { crc32 } from '@kvfleet/core';
import type { Snapshot } from '../raft/types.js';

const MAGIC = 0x4b56534e; // "KVSN"
const VERSION = 1;

export class SnapFileError extends Error {
  override readonly name = 'SnapFileError';
}

export function encodeSnapFile(snap: Snapshot): Uint8Array {
  const { voters, learners } = snap.metadata.confState;
  const size = 4 + 4 + 8 + 8 + 4 + voters.length * 8 + 4 + learners.length * 8 + 4 + snap.data.length + 4;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  const u32 = (n: number): void => {
    view.setUint32(at, n);
    at += 4;
  };
  const u64 = (n: number): void => {
    view.setBigUint64(at, BigInt(n));
    at += 8;
  };
  u32(MAGIC);
  u32(VERSION);
  u64(snap.metadata.index);
  u64(snap.metadata.term);
  u32(voters.length);
  voters.forEach(u64);
  u32(learners.length);
  learners.forEach(u64);
  u32(snap.data.length);
  out.set(snap.data, at);
  at += snap.data.length;
  view.setUint32(at, crc32(out.subarray(0, at)));
  return out;
}

export function decodeSnapFile(bytes: Uint8Array, name: string): Snapshot {
  const fail = (why: string): never => {
    throw new SnapFileError(`snapshot file ${name}: ${why}`);
  };
  if (bytes.length < 36) fail('too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const body = bytes.length - 4;
  if (crc32(bytes.subarray(0, body)) !== view.getUint32(body)) fail('checksum mismatch');
  let at = 0;
  const need = (n: number): void => {
    if (at + n > body) fail('truncated');
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(at);
    at += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(at);
    at += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('number out of range');
    return Number(v);
  };
  if (u32() !== MAGIC) fail('not a kvfleet snapshot file');
  const version = u32();
  if (version !== VERSION) fail(`unknown version ${String(version)}`);
  const index = u64();
  const term = u64();
  const voters = Array.from({ length: u32() }, u64);
  const learners = Array.from({ length: u32() }, u64);
  const dataLength = u32();
  need(dataLength);
  const data = bytes.slice(at, at + dataLength);
  at += dataLength;
  if (at !== body) fail('trailing bytes');
  return { data, metadata: { index, term, confState: { voters, learners } } };
}
