/**
 * Every error the MVCC key index and store raise, with a stable `code` to match on, in the style of the
 * WAL and Raft errors: callers never parse messages.
 */
export type MvccErrorCode =
  | 'ErrMvccRevisionNotFound'
  | 'ErrMvccRevisionOrder'
  | 'ErrMvccInvalidRevision'
  | 'ErrMvccInvalidArgument'
  | 'ErrFutureRev'
  | 'ErrCompacted'
  | 'ErrMvccCorrupt';

const MESSAGES: Record<MvccErrorCode, string> = {
  ErrMvccRevisionNotFound: 'mvcc: revision not found',
  ErrMvccRevisionOrder: 'mvcc: revision is not greater than the last modification',
  ErrMvccInvalidRevision: 'mvcc: invalid revision',
  ErrMvccInvalidArgument: 'mvcc: invalid argument',
  // The next two are etcd's exact texts: clients (and etcd's own tooling) match on them.
  ErrFutureRev: 'mvcc: required revision is a future revision',
  ErrCompacted: 'mvcc: required revision has been compacted',
  ErrMvccCorrupt: 'mvcc: corrupt stored data',
};

export class MvccError extends Error {
  constructor(
    readonly code: MvccErrorCode,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(detail === undefined ? MESSAGES[code] : `${MESSAGES[code]}: ${detail}`, options);
    this.name = 'MvccError';
  }
}

/** True if `e` is an MvccError with the given code. */
export function isMvccError(e: unknown, code: MvccErrorCode): e is MvccError {
  return e instanceof MvccError && e.code === code;
}
