/**
 * Every error the MVCC key index raises, with a stable `code` to match on, in the style of the
 * WAL and Raft errors: callers never parse messages.
 */
export type MvccErrorCode =
  | 'ErrMvccRevisionNotFound'
  | 'ErrMvccRevisionOrder'
  | 'ErrMvccInvalidRevision'
  | 'ErrMvccInvalidArgument';

const MESSAGES: Record<MvccErrorCode, string> = {
  ErrMvccRevisionNotFound: 'mvcc: revision not found',
  ErrMvccRevisionOrder: 'mvcc: revision is not greater than the last modification',
  ErrMvccInvalidRevision: 'mvcc: invalid revision',
  ErrMvccInvalidArgument: 'mvcc: invalid argument',
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
