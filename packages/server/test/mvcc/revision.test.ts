import { describe, expect, it } from 'vitest';
import { isMvccError } from '../../src/mvcc/errors.js';
import {
  RevisionSet,
  compareRevisions,
  decodeRevision,
  encodeRevision,
  revision,
} from '../../src/mvcc/revision.js';
import { r } from './helpers.js';

describe('revision encoding', () => {
  it('is main(8) _ sub(8) big-endian, with an optional t', () => {
    const plain = encodeRevision(r(0x0102030405, 7));
    expect(Buffer.from(plain).toString('hex')).toBe('0000000102030405' + '5f' + '0000000000000007');
    const tomb = encodeRevision(r(1, 0), { tombstone: true });
    expect(tomb.length).toBe(18);
    expect(tomb[17]).toBe(0x74);
    expect(decodeRevision(plain)).toEqual({ revision: r(0x0102030405, 7), tombstone: false });
    expect(decodeRevision(tomb)).toEqual({ revision: r(1, 0), tombstone: true });
  });

  it('round-trips the extremes', () => {
    for (const rev of [r(0, 0), r(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), r(2 ** 32, 2 ** 32 - 1)]) {
      expect(decodeRevision(encodeRevision(rev)).revision).toEqual(rev);
    }
  });

  it('orders bytes like revisions', () => {
    const revs = [r(0, 0), r(1, 0), r(1, 1), r(1, 255), r(1, 256), r(2, 0), r(255, 0), r(256, 0), r(2 ** 32 - 1, 9), r(2 ** 32, 0), r(2 ** 40, 3)];
    for (const a of revs) {
      for (const c of revs) {
        const byBytes = Math.sign(Buffer.compare(encodeRevision(a), encodeRevision(c)));
        expect(byBytes).toBe(Math.sign(compareRevisions(a, c)));
        // The marker sorts a tombstone just after its plain form and before the next revision.
        if (compareRevisions(a, c) < 0) {
          expect(Buffer.compare(encodeRevision(a, { tombstone: true }), encodeRevision(c))).toBe(-1);
        }
      }
    }
  });

  it('rejects malformed encodings with ErrMvccInvalidRevision', () => {
    const good = encodeRevision(r(5, 1));
    const bad: Uint8Array[] = [
      good.subarray(0, 16),
      new Uint8Array(19),
      Uint8Array.from(good, (x, i) => (i === 8 ? 0x2d : x)),
      Uint8Array.from([...good, 0x78]),
      Uint8Array.from(good, (x, i) => (i === 0 ? 0x80 : x)), // main >= 2^63
      Uint8Array.from(good, (x, i) => (i === 10 ? 0x20 : x)), // sub >= 2^53
    ];
    for (const bytes of bad) {
      expect(() => decodeRevision(bytes)).toThrow(expect.objectContaining({ code: 'ErrMvccInvalidRevision' }));
    }
    // A subarray with a non-zero offset decodes correctly.
    const padded = new Uint8Array(20);
    padded.set(good, 3);
    expect(decodeRevision(padded.subarray(3)).revision).toEqual(r(5, 1));
  });

  it('refuses revisions that cannot be encoded in order', () => {
    for (const [m, s] of [[-1, 0], [1, -1], [1.5, 0], [2 ** 53, 0], [Number.NaN, 0]] as const) {
      let err: unknown;
      try {
        encodeRevision({ main: m, sub: s });
      } catch (e) {
        err = e;
      }
      expect(isMvccError(err, 'ErrMvccInvalidRevision')).toBe(true);
      expect(() => revision(m, s)).toThrow();
    }
  });
});

describe('RevisionSet', () => {
  it('compares by value and sorts', () => {
    const s = new RevisionSet();
    s.add(r(3, 1)).add(r(1, 0)).add({ main: 3, sub: 1 }).add(r(3, 0));
    expect(s.size).toBe(3);
    expect(s.has(r(3, 1))).toBe(true);
    expect(s.has(r(3, 2))).toBe(false);
    expect(s.sorted()).toEqual([r(1, 0), r(3, 0), r(3, 1)]);
    expect(s.delete(r(1, 0))).toBe(true);
    expect(s.delete(r(1, 0))).toBe(false);
    expect([...s].length).toBe(2);
  });
});
