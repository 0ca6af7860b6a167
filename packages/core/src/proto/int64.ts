// 64-bit integers on the wire. protobufjs decodes int64/uint64 as Long (the `long`
// package); kvfleet keeps revisions, lease ids and member ids below 2^53 so the
// rest of the code can use plain numbers, and these helpers convert at the edge.
import Long from 'long';

/** An int64/uint64 field as decoded by protobufjs (Long; number only if built in-process). */
export type Int64 = Long | number;

/** What the encoder accepts for an int64/uint64 field: number, decimal string or Long. */
export type Int64Like = number | string | Long;

const DECIMAL = /^-?\d+$/;

/**
 * The value as a JS number; throws a RangeError naming `fieldName` unless it is a
 * safe integer. Absent (null/undefined) reads as 0, as proto3 defines.
 */
export function int64ToNumber(v: Int64Like | bigint | null | undefined, fieldName: string): number {
  if (v === null || v === undefined) return 0;
  let n: number;
  if (typeof v === 'number') {
    n = v;
  } else if (typeof v === 'bigint') {
    n = Number(v);
    if (BigInt(n) !== v) throw unsafe(fieldName, v.toString());
  } else if (typeof v === 'string') {
    if (!DECIMAL.test(v)) throw new RangeError(`${fieldName}: ${JSON.stringify(v)} is not a decimal integer`);
    n = Number(v);
  } else if (Long.isLong(v)) {
    // Exact test: toNumber is exact below 2^53 and lands at or beyond 2^53 otherwise.
    n = v.toNumber();
  } else {
    throw new TypeError(`${fieldName}: expected an int64 (number, string or Long), got ${typeof v}`);
  }
  if (!Number.isSafeInteger(n)) throw unsafe(fieldName, String(v));
  return n;
}

/** The exact value as a bigint (any int64 or uint64). Absent reads as 0n. */
export function int64ToBigInt(v: Int64Like | bigint | null | undefined, fieldName = 'value'): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new RangeError(`${fieldName}: ${v} is not an integer`);
    return BigInt(v);
  }
  if (typeof v === 'string') {
    if (!DECIMAL.test(v)) throw new RangeError(`${fieldName}: ${JSON.stringify(v)} is not a decimal integer`);
    return BigInt(v);
  }
  if (Long.isLong(v)) return BigInt(v.toString()); // toString honours `unsigned`
  throw new TypeError(`${fieldName}: expected an int64 (number, string or Long), got ${typeof v}`);
}

/**
 * A bigint as something the encoder accepts (protobufjs does not take bigint).
 * Decimal strings cover the whole int64 and uint64 range.
 */
export function bigIntToInt64(v: bigint): string {
  return v.toString();
}

function unsafe(fieldName: string, shown: string): RangeError {
  return new RangeError(
    `${fieldName}: ${shown} is outside the safe integer range (kvfleet keeps revisions, lease ids and member ids below 2^53)`,
  );
}
