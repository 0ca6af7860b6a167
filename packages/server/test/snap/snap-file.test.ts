import { describe, expect, it } from 'vitest';
import { SnapFileError, decodeSnapFile, encodeSnapFile } from '../../src/snap/snap-file.js';
import type { Snapshot } from '../../src/raft/types.js';

function snap(index: number, term: number, voters: number[], learners: number[], data: number[]): Snapshot {
  return { data: new Uint8Array(data), metadata: { index, term, confState: { voters, learners } } };
}

const samples: Snapshot[] = [
  snap(0, 0, [], [], []),
  snap(1, 1, [1], [], [1, 2, 3]),
  snap(1234567, 89, [0x1fffffffffffff, 2, 3], [4, 5], Array.from({ length: 300 }, (_, i) => i % 256)),
  snap(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, [7], [Number.MAX_SAFE_INTEGER], [0]),
];

function plain(s: Snapshot): Snapshot {
  return {
    data: new Uint8Array(s.data),
    metadata: { index: s.metadata.index, term: s.metadata.term, confState: { voters: [...s.metadata.confState.voters], learners: [...s.metadata.confState.learners] } },
  };
}

describe('snap file', () => {
  it('round trips', () => {
    for (const s of samples) expect(plain(decodeSnapFile(encodeSnapFile(s), 'x.snap'))).toEqual(plain(s));
  });

  it('decodes from a view into a larger buffer', () => {
    const bytes = encodeSnapFile(samples[2]!);
    const big = new Uint8Array(bytes.length + 20);
    big.set(bytes, 7);
    expect(plain(decodeSnapFile(big.subarray(7, 7 + bytes.length), 'x.snap'))).toEqual(plain(samples[2]!));
  });

  it('rejects any single flipped byte', () => {
    for (const s of samples.slice(1, 3)) {
      const bytes = encodeSnapFile(s);
      for (let i = 0; i < bytes.length; i++) {
        const bad = bytes.slice();
        bad[i]! ^= 0x01;
        expect(() => decodeSnapFile(bad, 'x.snap'), `byte ${String(i)}`).toThrow(SnapFileError);
        bad[i]! ^= 0xff;
        expect(() => decodeSnapFile(bad, 'x.snap'), `byte ${String(i)}`).toThrow(SnapFileError);
      }
    }
  });

  it('rejects every truncation and trailing garbage', () => {
    const bytes = encodeSnapFile(samples[2]!);
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeSnapFile(bytes.subarray(0, n), 'x.snap'), `length ${String(n)}`).toThrow(SnapFileError);
    }
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(() => decodeSnapFile(longer, 'x.snap')).toThrow(SnapFileError);
  });

  it('names the file in the error', () => {
    const bad = encodeSnapFile(samples[1]!);
    bad[10]! ^= 1;
    expect(() => decodeSnapFile(bad, '0000-0001.snap')).toThrow(/0000-0001\.snap/);
  });

  it('rejects an empty file', () => {
    expect(() => decodeSnapFile(new Uint8Array(0), 'x.snap')).toThrow(SnapFileError);
  });
});
