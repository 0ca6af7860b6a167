/**
 * The store's entries in backend bucket `meta`: each a u64 big-endian number under a fixed
 * ASCII key. They are written in the same batches as the data they describe, so after a crash
 * they always agree with bucket `key`.
 */
import { MvccError } from './errors.js';

export const KEY_BUCKET = 'key';
export const META_BUCKET = 'meta';

const ascii = new TextEncoder();
/** Raft index of the last applied entry. */
export const META_CONSISTENT_INDEX = ascii.encode('consistentIndex');
/** Raft term of the last applied entry. */
export const META_CONSISTENT_TERM = ascii.encode('consistentTerm');
/** Revision of the last compaction that finished deleting its records. */
export const META_FINISHED_COMPACT_REV = ascii.encode('finishedCompactRev');
/** Revision of the last compaction started; ahead of finishedCompactRev while one runs (or was cut short by a crash). */
export const META_SCHEDULED_COMPACT_REV = ascii.encode('scheduledCompactRev');
/**
 * Equal to scheduledCompactRev (and written in the same batch) when that compaction keeps every
 * record with main revision exactly the compaction revision, so history can still be read from
 * that revision itself (KvStore.history). Any other value, or none (stores written before this
 * entry existed), means the compaction dropped a change there and history starts one later.
 */
export const META_REPLAYABLE_COMPACT_REV = ascii.encode('replayableCompactRev');

const TWO_POW_32 = 2 ** 32;

export function encodeU64(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new MvccError('ErrMvccInvalidArgument', `${String(n)} is not a non-negative safe integer`);
  }
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(n / TWO_POW_32));
  view.setUint32(4, n % TWO_POW_32);
  return out;
}

/** Decodes a meta number; an absent entry is 0. Throws `ErrMvccCorrupt` on a malformed one. */
export function decodeU64(bytes: Uint8Array | undefined, what: string): number {
  if (bytes === undefined) return 0;
  if (bytes.length !== 8) throw new MvccError('ErrMvccCorrupt', `meta ${what} has ${String(bytes.length)} bytes, want 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const high = view.getUint32(0);
  if (high > 0x1fffff) throw new MvccError('ErrMvccCorrupt', `meta ${what} exceeds Number.MAX_SAFE_INTEGER`);
  return high * TWO_POW_32 + view.getUint32(4);
}
