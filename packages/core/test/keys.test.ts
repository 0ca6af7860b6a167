import { describe, expect, it } from 'vitest';
import {
  FROM_KEY_END,
  MAX_REQUEST_BYTES,
  MAX_TXN_OPS,
  checkKeyProvided,
  checkRequestSize,
  checkTxnOpCount,
  classifyRange,
  compareKeys,
  inRange,
  isFromKeyEnd,
  prefixEnd,
} from '../src/keys.js';
import { ETCD_ERRORS } from '../src/etcd-errors.js';

/** Bytes of a latin1 string, so "\xff" is the single byte 0xff. */
const b = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

describe('prefixEnd', () => {
  it.each([
    ['a', 'b'],
    ['a\xff', 'b'],
    ['ab\xff\xff', 'ac'],
    ['foo', 'fop'],
    ['a\xfe', 'a\xff'],
    ['\x00', '\x01'],
  ])('%j -> %j', (p, end) => {
    expect(prefixEnd(b(p))).toEqual(b(end));
  });

  it('empty or all-0xff prefix means "to the end" ([0x00])', () => {
    expect(prefixEnd(b(''))).toEqual(bytes(0));
    expect(prefixEnd(b('\xff'))).toEqual(bytes(0));
    expect(prefixEnd(b('\xff\xff\xff'))).toEqual(bytes(0));
    expect(isFromKeyEnd(prefixEnd(b('\xff')))).toBe(true);
  });

  it('does not mutate its input and returns a fresh array', () => {
    const p = b('ab\xff');
    const end = prefixEnd(p);
    expect(p).toEqual(b('ab\xff'));
    expect(end.buffer).not.toBe(p.buffer);
    expect(prefixEnd(b(''))).not.toBe(FROM_KEY_END);
  });

  it('every key with the prefix is inside [prefix, prefixEnd)', () => {
    for (const p of ['a', 'ab\xff', '\xff', '', 'z\xfe']) {
      const prefix = b(p);
      const end = prefixEnd(prefix);
      for (const suffix of ['', '\x00', '\xff', '\xff\xff\xff', 'zz']) {
        expect(inRange(b(p + suffix), prefix, end)).toBe(true);
      }
    }
    // ...and keys just past the prefix are not.
    expect(inRange(b('b'), b('a'), prefixEnd(b('a')))).toBe(false);
    expect(inRange(b('ac'), b('ab\xff'), prefixEnd(b('ab\xff')))).toBe(false);
  });
});

describe('compareKeys', () => {
  it('is unsigned and bytewise', () => {
    expect(compareKeys(bytes(0x7f), bytes(0x80))).toBe(-1);
    expect(compareKeys(bytes(0xff), bytes(0x00))).toBe(1);
    expect(compareKeys(b('abc'), b('abc'))).toBe(0);
    expect(compareKeys(b(''), b(''))).toBe(0);
  });

  it('a proper prefix sorts first', () => {
    expect(compareKeys(b('ab'), b('abc'))).toBe(-1);
    expect(compareKeys(b('abc'), b('ab'))).toBe(1);
    expect(compareKeys(b(''), bytes(0))).toBe(-1);
  });

  it('sorts like byte strings', () => {
    const keys = ['b', '\xff', 'a\xff', 'a', '', '\x00', 'a\x00'].map(b);
    const sorted = [...keys].sort(compareKeys).map((k) => Array.from(k));
    expect(sorted).toEqual(['', '\x00', 'a', 'a\x00', 'a\xff', 'b', '\xff'].map((s) => Array.from(b(s))));
  });
});

describe('classifyRange', () => {
  it('classifies each form', () => {
    expect(classifyRange(b('a'))).toBe('single');
    expect(classifyRange(b('a'), b(''))).toBe('single');
    expect(classifyRange(b('a'), bytes(0))).toBe('from-key');
    expect(classifyRange(bytes(0), bytes(0))).toBe('from-key');
    expect(classifyRange(b('\xff'), bytes(0))).toBe('from-key');
    expect(classifyRange(b('a'), b('b'))).toBe('range');
    expect(classifyRange(b('a'), b('a\x00'))).toBe('range');
    expect(classifyRange(b(''), b('a'))).toBe('range');
    expect(classifyRange(b('a'), b('a'))).toBe('empty');
    expect(classifyRange(b('b'), b('a'))).toBe('empty');
    expect(classifyRange(b('a'), bytes(0, 0))).toBe('empty');
  });
});

describe('inRange', () => {
  it('single key matches only itself', () => {
    expect(inRange(b('a'), b('a'))).toBe(true);
    expect(inRange(b('a\x00'), b('a'))).toBe(false);
    expect(inRange(b(''), b('a'), b(''))).toBe(false);
  });

  it('half-open range: start inclusive, end exclusive', () => {
    const [key, end] = [b('a'), b('c')];
    expect(inRange(b('a'), key, end)).toBe(true);
    expect(inRange(b('b\xff\xff'), key, end)).toBe(true);
    expect(inRange(b('c'), key, end)).toBe(false);
    expect(inRange(b('\x60\xff'), key, end)).toBe(false);
  });

  it('handles 0x00 and 0xff boundaries', () => {
    expect(inRange(bytes(0), bytes(0), bytes(1))).toBe(true);
    expect(inRange(bytes(0, 0), bytes(0), bytes(1))).toBe(true);
    expect(inRange(bytes(1), bytes(0), bytes(1))).toBe(false);
    expect(inRange(bytes(0xfe, 0xff), bytes(0xfe), bytes(0xff))).toBe(true);
    expect(inRange(bytes(0xff), bytes(0xfe), bytes(0xff))).toBe(false);
  });

  it('from-key has no upper bound, and [0x00, 0x00) means everything', () => {
    expect(inRange(b('\xff\xff\xff'), b('a'), FROM_KEY_END)).toBe(true);
    expect(inRange(b('a'), b('a'), FROM_KEY_END)).toBe(true);
    expect(inRange(b('\x60'), b('a'), FROM_KEY_END)).toBe(false);
    expect(inRange(bytes(0), bytes(0), FROM_KEY_END)).toBe(true);
    expect(inRange(b('\xff'), bytes(0), FROM_KEY_END)).toBe(true);
  });

  it('empty ranges match nothing', () => {
    expect(inRange(b('a'), b('a'), b('a'))).toBe(false);
    expect(inRange(b('a'), b('b'), b('a'))).toBe(false);
  });
});

describe('limits and validation', () => {
  it('uses etcd defaults', () => {
    expect(MAX_REQUEST_BYTES).toBe(1.5 * 1024 * 1024);
    expect(MAX_REQUEST_BYTES).toBe(1572864);
    expect(MAX_TXN_OPS).toBe(128);
    expect(Array.from(FROM_KEY_END)).toEqual([0]);
  });

  it('empty key yields "key is not provided"', () => {
    const err = checkKeyProvided(new Uint8Array(0));
    expect(err).toBe(ETCD_ERRORS.ErrGRPCEmptyKey);
    expect(err?.message).toBe('etcdserver: key is not provided');
    expect(err?.code).toBe(3);
    expect(checkKeyProvided(bytes(0))).toBeUndefined();
  });

  it('request size: at the limit passes, one byte over fails', () => {
    expect(checkRequestSize(MAX_REQUEST_BYTES)).toBeUndefined();
    expect(checkRequestSize(MAX_REQUEST_BYTES + 1)).toBe(ETCD_ERRORS.ErrGRPCRequestTooLarge);
    expect(checkRequestSize(11, 10)).toBe(ETCD_ERRORS.ErrGRPCRequestTooLarge);
    expect(checkRequestSize(0)).toBeUndefined();
  });

  it('txn ops: counts the largest branch, not the sum', () => {
    expect(checkTxnOpCount({ compare: 128, success: 128, failure: 128 })).toBeUndefined();
    expect(checkTxnOpCount({ compare: 0, success: 129, failure: 0 })).toBe(ETCD_ERRORS.ErrGRPCTooManyOps);
    expect(checkTxnOpCount({ compare: 129, success: 0, failure: 0 })).toBe(ETCD_ERRORS.ErrGRPCTooManyOps);
    expect(checkTxnOpCount({ compare: 0, success: 0, failure: 3 }, 2)).toBe(ETCD_ERRORS.ErrGRPCTooManyOps);
  });
});

describe('prefixEnd on a Buffer', () => {
  it('leaves the caller\'s bytes alone', () => {
    const prefix = Buffer.from('ab');
    expect(Buffer.from(prefixEnd(prefix)).toString()).toBe('ac');
    expect(prefix.toString()).toBe('ab');
  });
});
