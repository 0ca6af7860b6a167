import { describe, expect, it } from 'vitest';
import { EntryType } from '../../src/raft/types.js';
import { isWalError } from '../../src/wal/errors.js';
import {
  decodeRecord,
  encodeRecord,
  findValidFrame,
  FRAME_HEADER_BYTES,
  readFrame,
  RecordType,
  type WalRecord,
} from '../../src/wal/record.js';
import { parseSegmentName, segmentName } from '../../src/wal/segment.js';

function roundTrip(record: WalRecord): WalRecord {
  const frame = encodeRecord(record);
  const f = readFrame(frame, 0);
  if (f.kind !== 'ok') throw new Error(`frame not ok: ${f.kind}`);
  expect(f.end).toBe(frame.length);
  const d = decodeRecord(f.type, f.payload);
  if (!d.ok) throw new Error(d.reason);
  return d.record;
}

describe('record encoding', () => {
  it('round-trips every record type, including the largest safe integers', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const records: WalRecord[] = [
      { type: RecordType.Metadata, metadata: new Uint8Array([1, 2, 3]) },
      { type: RecordType.Metadata, metadata: new Uint8Array(0) },
      { type: RecordType.Entry, entry: { term: max, index: 2 ** 32 + 7, type: EntryType.ConfChange, data: new Uint8Array([9, 8]) } },
      { type: RecordType.Entry, entry: { term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(0) } },
      { type: RecordType.HardState, hardState: { term: 5, vote: max, commit: 2 ** 40 } },
      { type: RecordType.Snapshot, snapshot: { index: 2 ** 33, term: 3 } },
    ];
    for (const r of records) expect(roundTrip(r)).toEqual(r);
  });

  it('lays the frame out as length, CRC, type, payload', () => {
    const frame = encodeRecord({ type: RecordType.Snapshot, snapshot: { index: 0x0102, term: 7 } });
    const view = new DataView(frame.buffer);
    expect(frame.length).toBe(FRAME_HEADER_BYTES + 16);
    expect(view.getUint32(0, true)).toBe(16);
    expect(view.getUint8(8)).toBe(RecordType.Snapshot);
    expect(view.getUint32(9, true)).toBe(0x0102);
    expect(view.getUint32(13, true)).toBe(0);
    expect(view.getUint32(17, true)).toBe(7);
  });

  it('refuses numbers that are not non-negative safe integers', () => {
    for (const bad of [2 ** 53, -1, 1.5, Number.NaN]) {
      let caught: unknown;
      try {
        encodeRecord({ type: RecordType.HardState, hardState: { term: bad, vote: 0, commit: 0 } });
      } catch (e) {
        caught = e;
      }
      expect(isWalError(caught, 'ErrWalInvalidArgument'), String(bad)).toBe(true);
    }
  });

  it('reports a u64 beyond the safe range as undecodable', () => {
    const frame = encodeRecord({ type: RecordType.Snapshot, snapshot: { index: 1, term: 1 } });
    const payload = frame.slice(FRAME_HEADER_BYTES);
    new DataView(payload.buffer).setUint32(4, 0x200000, true);
    const d = decodeRecord(RecordType.Snapshot, payload);
    expect(d.ok).toBe(false);
  });

  it('rejects payloads of the wrong size and unknown types', () => {
    expect(decodeRecord(RecordType.HardState, new Uint8Array(23)).ok).toBe(false);
    expect(decodeRecord(RecordType.Entry, new Uint8Array(16)).ok).toBe(false);
    expect(decodeRecord(99, new Uint8Array(0)).ok).toBe(false);
  });

  it('tells a short frame from a CRC mismatch', () => {
    const frame = encodeRecord({ type: RecordType.Metadata, metadata: new Uint8Array([1, 2, 3, 4]) });
    for (let cut = 0; cut < frame.length; cut++) expect(readFrame(frame.subarray(0, cut), 0).kind).toBe('short');
    for (let at = 4; at < frame.length; at++) {
      const flipped = frame.slice();
      flipped[at]! ^= 0x01;
      expect(readFrame(flipped, 0).kind, `flip at ${at}`).toBe('crc');
    }
  });

  it('finds the next valid frame after damage', () => {
    const a = encodeRecord({ type: RecordType.Metadata, metadata: new Uint8Array([1]) });
    const b = encodeRecord({ type: RecordType.Snapshot, snapshot: { index: 4, term: 2 } });
    const buf = new Uint8Array(a.length + 3 + b.length);
    buf.set(a, 0);
    buf.set([0xff, 0xee, 0xdd], a.length);
    buf.set(b, a.length + 3);
    expect(findValidFrame(buf, 1)).toBe(a.length + 3);
    expect(findValidFrame(buf, a.length + 4)).toBeUndefined();
  });
});

describe('segment names', () => {
  it('encode sequence and first index in fixed-width hex, so they sort in log order', () => {
    expect(segmentName(3, 0x1a2f)).toBe('0000000000000003-0000000000001a2f.wal');
    expect(parseSegmentName('0000000000000003-0000000000001a2f.wal')).toEqual({
      seq: 3,
      firstIndex: 0x1a2f,
      name: '0000000000000003-0000000000001a2f.wal',
    });
    const names = [segmentName(10, 5), segmentName(2, 900), segmentName(9, 1)];
    expect([...names].sort()).toEqual([segmentName(2, 900), segmentName(9, 1), segmentName(10, 5)]);
  });

  it('ignores other files and rejects out-of-range numbers', () => {
    expect(parseSegmentName('notes.txt')).toBeUndefined();
    expect(parseSegmentName('0000000000000003-0000000000001a2f.wal.tmp')).toBeUndefined();
    expect(() => parseSegmentName('ffffffffffffffff-0000000000000001.wal')).toThrow(/safe integer/);
  });
});
