import type { Entry, HardState, Snapshot, ConfState } from './types.js';

/**
 * The log as the Raft core reads it. Everything here is already durable: the core keeps
 * unpersisted entries itself and hands them out through `Ready.entries`.
 *
 * Index arithmetic, with a snapshot at index 10 and entries 11..15 stored:
 *   firstIndex() = 11, lastIndex() = 15, term(10) = snapshot term (the "dummy" boundary),
 *   term(9) throws ErrCompacted, term(16) throws ErrUnavailable.
 */
export interface LogStorage {
  /** Index of the first entry still available (the snapshot's index + 1). */
  firstIndex(): number;
  /** Index of the last entry; equals firstIndex() - 1 when only the snapshot is there. */
  lastIndex(): number;
  /**
   * Term of entry `index`, for firstIndex()-1 <= index <= lastIndex().
   * Throws RaftError ErrCompacted below that range and ErrUnavailable above it.
   */
  term(index: number): number;
  /**
   * Entries [lo, hi), at least one if any exist, and no more than `maxBytes` of data beyond
   * the first. Throws ErrCompacted if lo < firstIndex(), ErrUnavailable if hi > lastIndex()+1.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /**
   * The most recent snapshot. Throws ErrSnapshotTemporarilyUnavailable while one is being
   * made; the core then retries later.
   */
  snapshot(): Snapshot;
}

/** The durable vote, term and commit, read once when a node starts. */
export interface HardStateStorage {
  initialState(): { hardState: HardState; confState: ConfState };
}

/** What the core needs from storage: the two narrow views above. */
export type RaftStorage = LogStorage & HardStateStorage;
