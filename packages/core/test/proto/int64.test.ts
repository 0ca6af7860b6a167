import Long from 'long';
import { describe, expect, it } from 'vitest';
import { bigIntToInt64, int64ToBigInt, int64ToNumber } from '../../src/proto/int64.js';
import { decodeMessage, encodeMessage } from '../../src/proto/loader.js';
import type { Decoded } from '../../src/proto/message-shapes.js';
import type { KeyValue, ResponseHeader } from '../../src/proto/kv.js';

const TWO_53_PLUS_1 = '9007199254740993';

describe('int64ToNumber', () => {
  it('converts numbers, decimal strings, Longs and bigints in the safe range', () => {
    expect(int64ToNumber(42, 'rev')).toBe(42);
    expect(int64ToNumber('-7', 'rev')).toBe(-7);
    expect(int64ToNumber(Long.fromString('9007199254740991'), 'rev')).toBe(Number.MAX_SAFE_INTEGER);
    expect(int64ToNumber(Long.fromNumber(-5), 'rev')).toBe(-5);
    expect(int64ToNumber(12n, 'rev')).toBe(12);
    expect(int64ToNumber(undefined, 'rev')).toBe(0);
    expect(int64ToNumber(null, 'rev')).toBe(0);
  });

  it('throws a RangeError naming the field beyond 2^53', () => {
    expect(() => int64ToNumber(Long.fromString(TWO_53_PLUS_1), 'header.revision')).toThrow(RangeError);
    expect(() => int64ToNumber(Long.fromString(TWO_53_PLUS_1), 'header.revision')).toThrow(
      /header\.revision: 9007199254740993 is outside the safe integer range/,
    );
    expect(() => int64ToNumber(Long.fromString('9007199254740992'), 'x')).toThrow(RangeError); // 2^53 itself
    expect(() => int64ToNumber(Long.fromString('-9007199254740992'), 'x')).toThrow(RangeError);
    expect(() => int64ToNumber(TWO_53_PLUS_1, 'x')).toThrow(RangeError);
    expect(() => int64ToNumber(2 ** 60, 'x')).toThrow(RangeError);
    expect(() => int64ToNumber(1.5, 'x')).toThrow(RangeError);
    expect(() => int64ToNumber(2n ** 53n, 'x')).toThrow(RangeError);
    expect(() => int64ToNumber(Long.MAX_UNSIGNED_VALUE, 'memberId')).toThrow(/memberId: 18446744073709551615/);
  });

  it('rejects strings that are not plain decimal integers', () => {
    expect(() => int64ToNumber('0x10', 'x')).toThrow(/not a decimal integer/);
    expect(() => int64ToNumber('1e3', 'x')).toThrow(/not a decimal integer/);
    expect(() => int64ToNumber('', 'x')).toThrow(/not a decimal integer/);
  });
});

describe('int64ToBigInt', () => {
  it('is exact over the whole int64 and uint64 range', () => {
    expect(int64ToBigInt(Long.fromString(TWO_53_PLUS_1))).toBe(9007199254740993n);
    expect(int64ToBigInt(Long.MIN_VALUE)).toBe(-(2n ** 63n));
    expect(int64ToBigInt(Long.MAX_UNSIGNED_VALUE)).toBe(2n ** 64n - 1n);
    expect(int64ToBigInt('-12')).toBe(-12n);
    expect(int64ToBigInt(3)).toBe(3n);
    expect(int64ToBigInt(undefined)).toBe(0n);
    expect(() => int64ToBigInt(0.5, 'f')).toThrow(/f: 0.5 is not an integer/);
  });
});

describe('int64 on the wire', () => {
  it('keeps values above 2^53 exact through encode/decode', () => {
    const bytes = encodeMessage('mvccpb.KeyValue', {
      createRevision: bigIntToInt64(2n ** 53n + 1n),
      modRevision: Long.fromString('-9223372036854775808'),
    });
    const kv = decodeMessage<Decoded<KeyValue>>('mvccpb.KeyValue', bytes);
    expect(Long.isLong(kv.createRevision)).toBe(true);
    expect(int64ToBigInt(kv.createRevision)).toBe(2n ** 53n + 1n);
    expect(int64ToBigInt(kv.modRevision)).toBe(-(2n ** 63n));
    expect(() => int64ToNumber(kv.createRevision, 'createRevision')).toThrow(RangeError);
  });

  it('decodes uint64 as unsigned (member ids with the top bit set)', () => {
    const bytes = encodeMessage('etcdserverpb.ResponseHeader', { memberId: '18446744073709551615', revision: 12 });
    expect(bytes.length).toBe(1 + 10 + 2);
    const hdr = decodeMessage<Decoded<ResponseHeader>>('etcdserverpb.ResponseHeader', bytes);
    expect(int64ToBigInt(hdr.memberId)).toBe(2n ** 64n - 1n);
    expect(int64ToNumber(hdr.revision, 'revision')).toBe(12);
  });
});
