/**
 * Every error the Raft core and its storage raise, with a stable `code` to match on.
 * Callers never parse messages.
 */
export type RaftErrorCode =
  | 'ErrCompacted'
  | 'ErrSnapOutOfDate'
  | 'ErrUnavailable'
  | 'ErrSnapshotTemporarilyUnavailable'
  | 'ErrProposalDropped'
  | 'ErrStepLocalMsg'
  | 'ErrStepPeerNotFound'
  | 'ErrInvalidConfig';

const MESSAGES: Record<RaftErrorCode, string> = {
  ErrCompacted: 'requested index is unavailable due to compaction',
  ErrSnapOutOfDate: 'requested index is older than the existing snapshot',
  ErrUnavailable: 'requested entry at index is unavailable',
  ErrSnapshotTemporarilyUnavailable: 'snapshot is temporarily unavailable',
  ErrProposalDropped: 'raft proposal dropped',
  ErrStepLocalMsg: 'raft: cannot step raft local message',
  ErrStepPeerNotFound: 'raft: cannot step as peer not found',
  ErrInvalidConfig: 'raft: invalid configuration',
};

export class RaftError extends Error {
  constructor(
    readonly code: RaftErrorCode,
    detail?: string,
  ) {
    super(detail === undefined ? MESSAGES[code] : `${MESSAGES[code]}: ${detail}`);
    this.name = 'RaftError';
  }
}

export function isRaftError(e: unknown, code: RaftErrorCode): e is RaftError {
  return e instanceof RaftError && e.code === code;
}
