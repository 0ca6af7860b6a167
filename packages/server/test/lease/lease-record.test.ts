import { describe, expect, it } from 'vitest';
import { LeaseError } from '../../src/lease/errors.js';
import {
  LEASE_RECORD_FORMAT,
  decodeLeaseKey,
  decodeLeaseRecord,
  encodeLeaseKey,
  encodeLeaseRecord,
} from '../../src/lease/lease-record.js';
import { MAX_LEASE_TTL } from '../../src/lease/limits.js';

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LeaseError);
    return (e as LeaseError).code;
  }
  throw new Error('expected a LeaseError');
}

describe('lease record codec', () => {
  it('round-trips, including the extremes', () => {
    for (const r of [
      { id: 1, ttl: 1, remainingTtl: 0 },
      { id: Number.MAX_SAFE_INTEGER, ttl: MAX_LEASE_TTL, remainingTtl: MAX_LEASE_TTL },
      { id: 0x123456789a, ttl: 60, remainingTtl: 17 },
    ]) {
      const bytes = encodeLeaseRecord(r);
      expect(bytes.length).toBe(25);
      expect(bytes[0]).toBe(LEASE_RECORD_FORMAT);
      expect(decodeLeaseRecord(bytes)).toEqual(r);
      expect(decodeLeaseKey(encodeLeaseKey(r.id))).toBe(r.id);
    }
  });

  it('orders keys by id', () => {
    const a = encodeLeaseKey(255);
    const b = encodeLeaseKey(256);
    expect(Buffer.compare(a, b)).toBeLessThan(0);
  });

  it('checks lengths, format and ranges on decode', () => {
    const good = encodeLeaseRecord({ id: 5, ttl: 10, remainingTtl: 3 });
    expect(code(() => decodeLeaseRecord(new Uint8Array(0)))).toBe('ErrLeaseCorrupt');
    expect(code(() => decodeLeaseRecord(good.subarray(0, 24)))).toBe('ErrLeaseCorrupt');
    expect(code(() => decodeLeaseRecord(new Uint8Array([...good, 0])))).toBe('ErrLeaseCorrupt');
    const badFormat = good.slice();
    badFormat[0] = 2;
    expect(code(() => decodeLeaseRecord(badFormat))).toBe('ErrLeaseCorrupt');
    const zeroTtl = good.slice();
    zeroTtl.fill(0, 9, 17);
    expect(code(() => decodeLeaseRecord(zeroTtl))).toBe('ErrLeaseCorrupt');
    const hugeId = good.slice();
    hugeId[1] = 0xff;
    expect(code(() => decodeLeaseRecord(hugeId))).toBe('ErrLeaseCorrupt');
    expect(code(() => decodeLeaseKey(new Uint8Array(7)))).toBe('ErrLeaseCorrupt');
    // A record decoded from a subarray at an offset reads the right bytes.
    const padded = new Uint8Array(30);
    padded.set(good, 5);
    expect(decodeLeaseRecord(padded.subarray(5))).toEqual({ id: 5, ttl: 10, remainingTtl: 3 });
  });

  it('refuses to encode out-of-range records', () => {
    expect(code(() => encodeLeaseRecord({ id: 0, ttl: 10, remainingTtl: 0 }))).toBe('ErrLeaseInvalidArgument');
    expect(code(() => encodeLeaseRecord({ id: 1, ttl: MAX_LEASE_TTL + 1, remainingTtl: 0 }))).toBe('ErrLeaseInvalidArgument');
    expect(code(() => encodeLeaseRecord({ id: 1, ttl: 10, remainingTtl: -1 }))).toBe('ErrLeaseInvalidArgument');
  });
});
