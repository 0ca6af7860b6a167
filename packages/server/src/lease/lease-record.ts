/**
 * A lease as stored in backend bucket `lease` (what etcd's leasepb.Lease is in its `lease`
 * bucket): the key is the id as 8 bytes big-endian, so the bucket iterates in id order; the
 * value is `format (1 byte) | id u64 | ttl u64 | remainingTtl u64`, all big-endian. The id is
 * repeated in the value so a record under the wrong key is caught as corrupt.
 *
 * Attached keys are not stored: they are rebuilt from the KV store's live keys on recovery.
 */
import { LeaseError } from './errors.js';
import { MAX_LEASE_ID, MAX_LEASE_TTL } from './limits.js';

export const LEASE_BUCKET = 'lease';
/** Version of the value layout; decode refuses others, so a future layout is never misread. */
export const LEASE_RECORD_FORMAT = 1;
const RECORD_BYTES = 1 + 8 * 3;
const TWO_POW_32 = 2 ** 32;

export interface LeaseRecord {
  readonly id: number;
  /** Granted TTL in seconds (after raising to the minimum). */
  readonly ttl: number;
  /** Last checkpointed remaining TTL in seconds; 0 means unset (the full TTL applies). */
  readonly remainingTtl: number;
}

export function encodeLeaseKey(id: number): Uint8Array {
  const out = new Uint8Array(8);
  writeU64(new DataView(out.buffer), 0, id);
  return out;
}

export function decodeLeaseKey(key: Uint8Array): number {
  if (key.length !== 8) throw new LeaseError('ErrLeaseCorrupt', `lease key has ${String(key.length)} bytes, want 8`);
  return readU64(new DataView(key.buffer, key.byteOffset, key.byteLength), 0, 'lease key');
}

export function encodeLeaseRecord(r: LeaseRecord): Uint8Array {
  checkRecord(r, 'ErrLeaseInvalidArgument');
  const out = new Uint8Array(RECORD_BYTES);
  const view = new DataView(out.buffer);
  view.setUint8(0, LEASE_RECORD_FORMAT);
  writeU64(view, 1, r.id);
  writeU64(view, 9, r.ttl);
  writeU64(view, 17, r.remainingTtl);
  return out;
}

export function decodeLeaseRecord(bytes: Uint8Array): LeaseRecord {
  if (bytes.length === 0) throw new LeaseError('ErrLeaseCorrupt', 'empty lease record');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const format = view.getUint8(0);
  if (format !== LEASE_RECORD_FORMAT) throw new LeaseError('ErrLeaseCorrupt', `unknown lease record format ${String(format)}`);
  if (bytes.length !== RECORD_BYTES) {
    throw new LeaseError('ErrLeaseCorrupt', `lease record has ${String(bytes.length)} bytes, want ${String(RECORD_BYTES)}`);
  }
  const r: LeaseRecord = {
    id: readU64(view, 1, 'lease id'),
    ttl: readU64(view, 9, 'lease ttl'),
    remainingTtl: readU64(view, 17, 'lease remaining ttl'),
  };
  checkRecord(r, 'ErrLeaseCorrupt');
  return r;
}

function checkRecord(r: LeaseRecord, code: 'ErrLeaseInvalidArgument' | 'ErrLeaseCorrupt'): void {
  if (!Number.isSafeInteger(r.id) || r.id < 1 || r.id > MAX_LEASE_ID) throw new LeaseError(code, `lease id ${String(r.id)}`);
  if (!Number.isSafeInteger(r.ttl) || r.ttl < 1 || r.ttl > MAX_LEASE_TTL) throw new LeaseError(code, `lease ttl ${String(r.ttl)}`);
  if (!Number.isSafeInteger(r.remainingTtl) || r.remainingTtl < 0 || r.remainingTtl > MAX_LEASE_TTL) {
    throw new LeaseError(code, `lease remaining ttl ${String(r.remainingTtl)}`);
  }
}

function writeU64(view: DataView, at: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new LeaseError('ErrLeaseInvalidArgument', `${String(n)} is not a non-negative safe integer`);
  view.setUint32(at, Math.floor(n / TWO_POW_32));
  view.setUint32(at + 4, n % TWO_POW_32);
}

function readU64(view: DataView, at: number, what: string): number {
  const high = view.getUint32(at);
  if (high > 0x1fffff) throw new LeaseError('ErrLeaseCorrupt', `${what} exceeds Number.MAX_SAFE_INTEGER`);
  return high * TWO_POW_32 + view.getUint32(at + 4);
}
