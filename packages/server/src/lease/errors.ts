/**
 * The lessor's own errors, which never reach a client as they are: the server turns them into
 * a forward to the leader, a wait, or a fatal stop. Errors a client sees (lease not found,
 * already exists, TTL too large) are raised as `EtcdError`s from `@kvfleet/core` with etcd's
 * exact messages.
 */
export type LeaseErrorCode =
  | 'ErrLeaseInvalidArgument'
  | 'ErrLeaseNotPrimary'
  | 'ErrLeaseExpired'
  | 'ErrLeaseCorrupt';

const MESSAGES: Record<LeaseErrorCode, string> = {
  ErrLeaseInvalidArgument: 'lease: invalid argument',
  // etcd's internal ErrNotPrimary text; its server forwards the request to the leader.
  ErrLeaseNotPrimary: 'not a primary lessor',
  ErrLeaseExpired: 'lease: expired, waiting to be revoked',
  ErrLeaseCorrupt: 'lease: corrupt stored lease',
};

export class LeaseError extends Error {
  constructor(
    readonly code: LeaseErrorCode,
    detail?: string,
  ) {
    super(detail === undefined ? MESSAGES[code] : `${MESSAGES[code]}: ${detail}`);
    this.name = 'LeaseError';
  }
}

/** True if `e` is a LeaseError with the given code. */
export function isLeaseError(e: unknown, code: LeaseErrorCode): e is LeaseError {
  return e instanceof LeaseError && e.code === code;
}
