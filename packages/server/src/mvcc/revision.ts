/**
 * Revisions: the logical clock of the MVCC store.
 *
 * `main` is the store revision assigned to one modifying request (a put, a delete range or a
 * whole transaction); `sub` numbers the individual changes made by that request, from 0. Two
 * changes of one request therefore share `main` and are ordered by `sub`.
 *
 * Backend keys are revisions encoded as
 *
 *   u64 BE  main
 *   u8      '_' (0x5f)
 *   u64 BE  sub
 *   [u8     't' (0x74)]   present only when the change is a tombstone (a delete)
 *
 * Big-endian unsigned integers make byte order equal revision order, so a backend cursor walks
 * changes in the order they happened; the optional marker sorts a tombstone right after the
 * same revision without it, which never collides because one revision is one change.
 *
 * Both numbers must be non-negative safe integers: a negative number would not sort correctly
 * as an unsigned byte string, and an unsafe one could not be told apart from its neighbours.
 */
import { MvccError } from './errors.js';

export interface Revision {
  /** Store revision of the modifying request. */
  readonly main: number;
  /** Index of the change within that request. */
  readonly sub: number;
}

/** The revision before any change; every real change is greater. */
export const ZERO_REVISION: Revision = Object.freeze({ main: 0, sub: 0 });

/** Bytes of an encoded revision without the tombstone marker. */
export const REVISION_BYTES = 17;
/** Bytes of an encoded tombstone revision. */
export const TOMBSTONE_REVISION_BYTES = 18;
/** The separator byte between `main` and `sub`. */
export const REVISION_SEPARATOR = 0x5f; // '_'
/** The trailing byte that marks a tombstone. */
export const TOMBSTONE_MARKER = 0x74; // 't'

const TWO_POW_32 = 2 ** 32;
/** The high half of Number.MAX_SAFE_INTEGER (2^53 - 1). */
const MAX_SAFE_HIGH = 0x1fffff;

/** Builds a validated revision. Throws `ErrMvccInvalidRevision` on a bad number. */
export function revision(main: number, sub = 0): Revision {
  const rev = { main, sub };
  assertRevision(rev);
  return rev;
}

/** True if both parts are non-negative safe integers. */
export function isValidRevision(rev: Revision): boolean {
  return isU53(rev.main) && isU53(rev.sub);
}

/** Throws `ErrMvccInvalidRevision` unless `rev` is valid (see {@link isValidRevision}). */
export function assertRevision(rev: Revision, what = 'revision'): void {
  if (!isValidRevision(rev)) {
    throw new MvccError('ErrMvccInvalidRevision', `${what} ${formatRevision(rev)} is not a pair of non-negative safe integers`);
  }
}

/** Negative, zero or positive as `a` is before, equal to or after `b`. */
export function compareRevisions(a: Revision, b: Revision): number {
  if (a.main !== b.main) return a.main < b.main ? -1 : 1;
  if (a.sub !== b.sub) return a.sub < b.sub ? -1 : 1;
  return 0;
}

/** True if `a` is strictly after `b`. */
export function revisionGreaterThan(a: Revision, b: Revision): boolean {
  return compareRevisions(a, b) > 0;
}

/** True if both denote the same change. */
export function revisionEquals(a: Revision, b: Revision): boolean {
  return a.main === b.main && a.sub === b.sub;
}

/** `main.sub`, for messages and as a map key. */
export function formatRevision(rev: Revision): string {
  return `${String(rev.main)}.${String(rev.sub)}`;
}

export interface EncodeRevisionOptions {
  /** Append the tombstone marker byte. */
  readonly tombstone?: boolean;
}

/**
 * Encodes a revision as a backend key (17 bytes, or 18 with the tombstone marker). Throws
 * `ErrMvccInvalidRevision` if the revision cannot be encoded order-preservingly.
 */
export function encodeRevision(rev: Revision, options: EncodeRevisionOptions = {}): Uint8Array {
  assertRevision(rev);
  const out = new Uint8Array(options.tombstone === true ? TOMBSTONE_REVISION_BYTES : REVISION_BYTES);
  const view = new DataView(out.buffer);
  putU64(view, 0, rev.main);
  out[8] = REVISION_SEPARATOR;
  putU64(view, 9, rev.sub);
  if (options.tombstone === true) out[17] = TOMBSTONE_MARKER;
  return out;
}

export interface DecodedRevision {
  readonly revision: Revision;
  /** True if the key carried the tombstone marker. */
  readonly tombstone: boolean;
}

/**
 * Decodes a backend key written by {@link encodeRevision}. Throws `ErrMvccInvalidRevision` if
 * the length, separator or marker is wrong, or a number exceeds Number.MAX_SAFE_INTEGER.
 */
export function decodeRevision(bytes: Uint8Array): DecodedRevision {
  if (bytes.length !== REVISION_BYTES && bytes.length !== TOMBSTONE_REVISION_BYTES) {
    throw new MvccError('ErrMvccInvalidRevision', `encoded revision has ${String(bytes.length)} bytes, want 17 or 18`);
  }
  if (bytes[8] !== REVISION_SEPARATOR) {
    throw new MvccError('ErrMvccInvalidRevision', `byte 8 is 0x${hex(bytes[8] ?? 0)}, want '_'`);
  }
  const tombstone = bytes.length === TOMBSTONE_REVISION_BYTES;
  if (tombstone && bytes[17] !== TOMBSTONE_MARKER) {
    throw new MvccError('ErrMvccInvalidRevision', `byte 17 is 0x${hex(bytes[17] ?? 0)}, want 't'`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { revision: { main: getU64(view, 0, 'main'), sub: getU64(view, 9, 'sub') }, tombstone };
}

/**
 * A set of revisions compared by value (a plain `Set<Revision>` would compare object
 * identity). Compaction fills one with the revisions the backend must keep.
 */
export class RevisionSet implements Iterable<Revision> {
  private readonly byKey = new Map<string, Revision>();

  /** Number of revisions in the set. */
  get size(): number {
    return this.byKey.size;
  }

  /** Adds `rev`; adding an equal revision again is a no-op. */
  add(rev: Revision): this {
    this.byKey.set(formatRevision(rev), { main: rev.main, sub: rev.sub });
    return this;
  }

  /** True if a revision equal to `rev` is in the set. */
  has(rev: Revision): boolean {
    return this.byKey.has(formatRevision(rev));
  }

  /** Removes `rev`; returns whether it was present. */
  delete(rev: Revision): boolean {
    return this.byKey.delete(formatRevision(rev));
  }

  /** The revisions in ascending order. */
  sorted(): Revision[] {
    return [...this.byKey.values()].sort(compareRevisions);
  }

  [Symbol.iterator](): Iterator<Revision> {
    return this.byKey.values();
  }
}

function isU53(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function putU64(view: DataView, at: number, n: number): void {
  view.setUint32(at, Math.floor(n / TWO_POW_32));
  view.setUint32(at + 4, n % TWO_POW_32);
}

function getU64(view: DataView, at: number, what: string): number {
  const high = view.getUint32(at);
  if (high > MAX_SAFE_HIGH) {
    throw new MvccError('ErrMvccInvalidRevision', `${what} exceeds Number.MAX_SAFE_INTEGER`);
  }
  return high * TWO_POW_32 + view.getUint32(at + 4);
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}
