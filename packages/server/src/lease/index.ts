export {
  Lessor,
  type LessorOptions,
  type Lease,
  type GrantedLease,
  type RenewResult,
  type LeaseCheckpoint,
  type TimeToLive,
  type LeasedKey,
} from './lessor.js';
export { LeaseError, isLeaseError, type LeaseErrorCode } from './errors.js';
export {
  LEASE_BUCKET,
  LEASE_RECORD_FORMAT,
  type LeaseRecord,
  encodeLeaseKey,
  decodeLeaseKey,
  encodeLeaseRecord,
  decodeLeaseRecord,
} from './lease-record.js';
export {
  MAX_LEASE_TTL,
  MAX_LEASE_ID,
  DEFAULT_REVOKE_RATE,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_EXPIRED_RETRY_MS,
  minLeaseTtlSeconds,
} from './limits.js';
export { DeadlineQueue } from './deadline-queue.js';
export { putLeased, deleteRangeLeased } from './leased-writes.js';
