/**
 * Every error the storage backend raises, with a stable `code` to match on, in the style of
 * the WAL's and the Raft core's errors: callers never parse messages.
 */
export type BackendErrorCode =
  | 'ErrBackendClosed'
  | 'ErrBackendInvalidArgument'
  | 'ErrBackendBusy'
  | 'ErrBackendNotEmpty'
  | 'ErrBackendSnapshotCorrupt';

const MESSAGES: Record<BackendErrorCode, string> = {
  ErrBackendClosed: 'backend: closed',
  ErrBackendInvalidArgument: 'backend: invalid argument',
  ErrBackendBusy: 'backend: another operation is in progress',
  ErrBackendNotEmpty: 'backend: not empty',
  ErrBackendSnapshotCorrupt: 'backend: corrupt snapshot',
};

export class BackendError extends Error {
  constructor(
    readonly code: BackendErrorCode,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(detail === undefined ? MESSAGES[code] : `${MESSAGES[code]}: ${detail}`, options);
    this.name = 'BackendError';
  }
}

/** True if `e` is a BackendError with the given code. */
export function isBackendError(e: unknown, code: BackendErrorCode): e is BackendError {
  return e instanceof BackendError && e.code === code;
}
