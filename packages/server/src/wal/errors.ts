/**
 * Every error the write-ahead log raises, with a stable `code` to match on, in the style of
 * the Raft core's errors: callers never parse messages.
 */
export type WalErrorCode =
  | 'ErrWalCorrupt'
  | 'ErrWalBackpressure'
  | 'ErrWalExists'
  | 'ErrWalNotFound'
  | 'ErrWalClosed'
  | 'ErrWalFailed'
  | 'ErrWalInvalidArgument';

const MESSAGES: Record<WalErrorCode, string> = {
  ErrWalCorrupt: 'wal: corrupt log',
  ErrWalBackpressure: 'wal: too many bytes waiting for the disk',
  ErrWalExists: 'wal: a log already exists',
  ErrWalNotFound: 'wal: no log found',
  ErrWalClosed: 'wal: log is closed',
  ErrWalFailed: 'wal: an earlier write or sync failed; the log must be reopened',
  ErrWalInvalidArgument: 'wal: invalid argument',
};

export class WalError extends Error {
  constructor(
    readonly code: WalErrorCode,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(detail === undefined ? MESSAGES[code] : `${MESSAGES[code]}: ${detail}`, options);
    this.name = 'WalError';
  }
}

/**
 * A record that cannot be trusted, or a set of segments that does not form one log. Carries
 * where it was found so an operator can inspect the file.
 */
export class WalCorruptError extends WalError {
  constructor(
    /** File name of the segment, relative to the WAL directory. */
    readonly segment: string,
    /** Byte offset in that segment of the record (or gap) found to be bad. */
    readonly offset: number,
    reason: string,
  ) {
    super('ErrWalCorrupt', `${segment} at offset ${offset}: ${reason}`);
    this.name = 'WalCorruptError';
  }
}

/** True if `e` is a WalError with the given code. */
export function isWalError(e: unknown, code: WalErrorCode): e is WalError {
  return e instanceof WalError && e.code === code;
}
