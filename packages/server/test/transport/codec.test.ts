import { describe, expect, it } from 'vitest';
import { EntryType, MessageType, newMessage } from '../../src/raft/types.js';
import { decodeBatch, decodeMessage, decodeSnapshotChunk, encodeBatch, encodeMessage, encodeSnapshotChunk } from '../../src/transport/raft-codec.js';
import { bytes } from './helpers.js';

describe('raft codec', () => {
  it('round-trips every field, including large ids and an absent snapshot', () => {
    const full = newMessage({
      type: MessageType.MsgSnap,
      to: 2 ** 53 - 1,
      from: 0xdeadbeef,
      term: 7,
      logTerm: 6,
      index: 1234567890123,
      commit: 99,
      entries: [
        { term: 6, index: 10, type: EntryType.Normal, data: bytes(100) },
        { term: 7, index: 11, type: EntryType.ConfChange, data: bytes(3, 9) },
        { term: 7, index: 12, type: EntryType.Normal, data: new Uint8Array(0) },
      ],
      snapshot: { data: bytes(17), metadata: { index: 9, term: 5, confState: { voters: [1, 2, 3], learners: [4] } } },
      reject: true,
      rejectHint: 8,
      context: bytes(5, 3),
    });
    expect(decodeMessage(encodeMessage(full))).toEqual(full);
    const bare = newMessage({ type: MessageType.MsgHeartbeat, to: 2, from: 1 });
    const back = decodeMessage(encodeMessage(bare));
    expect(back).toEqual(bare);
    expect('snapshot' in back).toBe(false);
  });

  it('builds a batch from encoded messages that decodes in order', () => {
    const ms = [1, 2, 3].map((i) => newMessage({ type: MessageType.MsgApp, to: 2, from: 1, index: i }));
    expect(decodeBatch(encodeBatch(ms.map(encodeMessage)))).toEqual(ms);
    expect(decodeBatch(encodeBatch([]))).toEqual([]);
  });

  it('round-trips snapshot chunks', () => {
    const m = newMessage({ type: MessageType.MsgSnap, to: 2, from: 1 });
    expect(decodeSnapshotChunk(encodeSnapshotChunk({ kind: 'message', message: m }))).toEqual({ kind: 'message', message: m });
    expect(decodeSnapshotChunk(encodeSnapshotChunk({ kind: 'data', data: bytes(10) }))).toEqual({ kind: 'data', data: bytes(10) });
    expect(decodeSnapshotChunk(encodeSnapshotChunk({ kind: 'trailer', totalBytes: 5 }))).toEqual({ kind: 'trailer', totalBytes: 5 });
  });
});
