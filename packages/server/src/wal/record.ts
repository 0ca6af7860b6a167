/**
 * Record framing and payload encoding.
 *
 * A frame is
 *
 *   u32 LE  payload length (bytes after the type byte)
 *   u32 LE  CRC-32 of the type byte and the payload
 *   u8      record type
 *   ...     payload
 *
 * Payloads are fixed little-endian layouts; every number is a non-negative safe integer
 * stored as a u64 (two u32 halves, because DataView's BigInt accessors would allocate).
 */
import { crc32 } from '@kvfleet/core';
import type { Entry, HardState } from '../raft/types.js';
import { WalError } from './errors.js';

/** Bytes before the payload: length, CRC, type. */
export const FRAME_HEADER_BYTES = 9;

export enum RecordType {
  /** Opaque bytes given at create (cluster and member id); first record of every segment. */
  Metadata = 1,
  /** One Raft entry: term, index, entry type, data. */
  Entry = 2,
  /** Raft's durable term, vote and commit. */
  HardState = 3,
  /** "A snapshot at this index exists; entries at or below it may be released." */
  Snapshot = 4,
}

/** Where a snapshot of the state machine stands in the log. */
export interface SnapshotMarker {
  readonly index: number;
  readonly term: number;
}

export type WalRecord =
  | { readonly type: RecordType.Metadata; readonly metadata: Uint8Array }
  | { readonly type: RecordType.Entry; readonly entry: Entry }
  | { readonly type: RecordType.HardState; readonly hardState: HardState }
  | { readonly type: RecordType.Snapshot; readonly snapshot: SnapshotMarker };

const ENTRY_FIXED_BYTES = 8 + 8 + 1;
const HARD_STATE_BYTES = 8 * 3;
const SNAPSHOT_BYTES = 8 * 2;
const TWO_POW_32 = 2 ** 32;
/** The high half of Number.MAX_SAFE_INTEGER (2^53 - 1). */
const MAX_SAFE_HIGH = 0x1fffff;

/** Encodes one record as a complete frame, ready to append to a segment. */
export function encodeRecord(record: WalRecord): Uint8Array {
  switch (record.type) {
    case RecordType.Metadata: {
      const { frame, view } = allocFrame(record.type, record.metadata.length);
      frame.set(record.metadata, FRAME_HEADER_BYTES);
      return seal(frame, view);
    }
    case RecordType.Entry: {
      const e = record.entry;
      if (!Number.isInteger(e.type) || e.type < 0 || e.type > 0xff) {
        throw new WalError('ErrWalInvalidArgument', `entry type ${String(e.type)} is not a u8`);
      }
      const { frame, view } = allocFrame(record.type, ENTRY_FIXED_BYTES + e.data.length);
      let at = FRAME_HEADER_BYTES;
      at = putU64(view, at, e.term, 'entry term');
      at = putU64(view, at, e.index, 'entry index');
      view.setUint8(at, e.type);
      frame.set(e.data, at + 1);
      return seal(frame, view);
    }
    case RecordType.HardState: {
      const hs = record.hardState;
      const { frame, view } = allocFrame(record.type, HARD_STATE_BYTES);
      let at = FRAME_HEADER_BYTES;
      at = putU64(view, at, hs.term, 'hard state term');
      at = putU64(view, at, hs.vote, 'hard state vote');
      putU64(view, at, hs.commit, 'hard state commit');
      return seal(frame, view);
    }
    case RecordType.Snapshot: {
      const s = record.snapshot;
      const { frame, view } = allocFrame(record.type, SNAPSHOT_BYTES);
      putU64(view, putU64(view, FRAME_HEADER_BYTES, s.index, 'snapshot index'), s.term, 'snapshot term');
      return seal(frame, view);
    }
  }
}

/** The outcome of reading the frame that starts at some offset. */
export type FrameResult =
  /** A whole frame whose CRC matches; `end` is the offset just past it. */
  | { readonly kind: 'ok'; readonly type: number; readonly payload: Uint8Array; readonly end: number }
  /** The data ends before the header or the payload does. */
  | { readonly kind: 'short'; readonly reason: string }
  /** The frame is all there but its CRC does not match. */
  | { readonly kind: 'crc'; readonly reason: string };

/** Reads the frame at `offset` of `buf` without interpreting the payload. */
export function readFrame(buf: Uint8Array, offset: number): FrameResult {
  const available = buf.length - offset;
  if (available < FRAME_HEADER_BYTES) {
    return { kind: 'short', reason: `partial header (${available} of ${FRAME_HEADER_BYTES} bytes)` };
  }
  const view = new DataView(buf.buffer, buf.byteOffset + offset, FRAME_HEADER_BYTES);
  const length = view.getUint32(0, true);
  const stored = view.getUint32(4, true);
  const end = offset + FRAME_HEADER_BYTES + length;
  if (end > buf.length) {
    return { kind: 'short', reason: `partial record (${available} of ${FRAME_HEADER_BYTES + length} bytes)` };
  }
  // The CRC covers the type byte too, so a flipped type cannot turn a record into another kind.
  const actual = crc32(buf.subarray(offset + FRAME_HEADER_BYTES - 1, end));
  if (actual !== stored) {
    return { kind: 'crc', reason: `CRC mismatch (stored ${hex32(stored)}, computed ${hex32(actual)})` };
  }
  return { kind: 'ok', type: view.getUint8(8), payload: buf.subarray(offset + FRAME_HEADER_BYTES, end), end };
}

/**
 * The first offset at or after `from` where a whole, CRC-valid frame of a known type starts,
 * or undefined. Used to tell a torn tail (nothing valid after the damage) from damage in the
 * middle of the log; it looks at every byte because a damaged length field cannot be trusted.
 */
export function findValidFrame(buf: Uint8Array, from: number): number | undefined {
  for (let at = from; at + FRAME_HEADER_BYTES <= buf.length; at++) {
    const type = buf[at + FRAME_HEADER_BYTES - 1]!;
    // Cheap checks first: most offsets fail on the type byte and never reach the CRC.
    if (!isRecordType(type)) continue;
    const result = readFrame(buf, at);
    if (result.kind === 'ok') return at;
  }
  return undefined;
}

/** A decoded payload, or why a CRC-valid payload still makes no sense. */
export type DecodeResult = { readonly ok: true; readonly record: WalRecord } | { readonly ok: false; readonly reason: string };

/**
 * Interprets the payload of a CRC-valid frame. Byte arrays in the result are copies, so the
 * segment buffer they were read from can be freed.
 */
export function decodeRecord(type: number, payload: Uint8Array): DecodeResult {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  switch (type) {
    case RecordType.Metadata:
      return { ok: true, record: { type: RecordType.Metadata, metadata: copy(payload, 0, payload.length) } };
    case RecordType.Entry: {
      if (payload.length < ENTRY_FIXED_BYTES) {
        return { ok: false, reason: `entry payload of ${payload.length} bytes is shorter than ${ENTRY_FIXED_BYTES}` };
      }
      const term = getU64(view, 0);
      const index = getU64(view, 8);
      if (term === undefined || index === undefined) return unsafe('entry');
      const entry: Entry = { term, index, type: view.getUint8(16), data: copy(payload, ENTRY_FIXED_BYTES, payload.length) };
      return { ok: true, record: { type: RecordType.Entry, entry } };
    }
    case RecordType.HardState: {
      if (payload.length !== HARD_STATE_BYTES) return wrongSize('hard state', payload.length, HARD_STATE_BYTES);
      const term = getU64(view, 0);
      const vote = getU64(view, 8);
      const commit = getU64(view, 16);
      if (term === undefined || vote === undefined || commit === undefined) return unsafe('hard state');
      return { ok: true, record: { type: RecordType.HardState, hardState: { term, vote, commit } } };
    }
    case RecordType.Snapshot: {
      if (payload.length !== SNAPSHOT_BYTES) return wrongSize('snapshot marker', payload.length, SNAPSHOT_BYTES);
      const index = getU64(view, 0);
      const term = getU64(view, 8);
      if (index === undefined || term === undefined) return unsafe('snapshot marker');
      return { ok: true, record: { type: RecordType.Snapshot, snapshot: { index, term } } };
    }
    default:
      return { ok: false, reason: `unknown record type ${type}` };
  }
}

function isRecordType(type: number): boolean {
  return type >= RecordType.Metadata && type <= RecordType.Snapshot;
}

function allocFrame(type: RecordType, payloadBytes: number): { frame: Uint8Array; view: DataView } {
  if (payloadBytes >= TWO_POW_32) {
    throw new WalError('ErrWalInvalidArgument', `record payload of ${payloadBytes} bytes does not fit a u32 length`);
  }
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payloadBytes);
  const view = new DataView(frame.buffer);
  view.setUint32(0, payloadBytes, true);
  view.setUint8(8, type);
  return { frame, view };
}

/** Fills in the CRC once the type and payload are in place. */
function seal(frame: Uint8Array, view: DataView): Uint8Array {
  view.setUint32(4, crc32(frame.subarray(FRAME_HEADER_BYTES - 1)), true);
  return frame;
}

/** Writes `value` as a u64 at `at` and returns the offset after it. */
function putU64(view: DataView, at: number, value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new WalError('ErrWalInvalidArgument', `${what} ${String(value)} is not a non-negative safe integer`);
  }
  view.setUint32(at, value % TWO_POW_32, true);
  view.setUint32(at + 4, Math.floor(value / TWO_POW_32), true);
  return at + 8;
}

/** Reads a u64, or undefined if it is beyond the safe integer range. */
function getU64(view: DataView, at: number): number | undefined {
  const high = view.getUint32(at + 4, true);
  if (high > MAX_SAFE_HIGH) return undefined;
  return high * TWO_POW_32 + view.getUint32(at, true);
}

function copy(from: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(from.subarray(start, end));
  return out;
}

function wrongSize(what: string, got: number, want: number): DecodeResult {
  return { ok: false, reason: `${what} payload is ${got} bytes, expected ${want}` };
}

function unsafe(what: string): DecodeResult {
  return { ok: false, reason: `${what} holds a number beyond the safe integer range` };
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
