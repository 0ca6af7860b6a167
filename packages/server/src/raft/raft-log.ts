import { RaftError, isRaftError } from './errors.js';
import type { LogStorage } from './storage.js';
import type { Entry, Snapshot } from './types.js';
import { Unstable } from './unstable.js';
import { limitSize } from './util.js';

/**
 * The log as one sequence: durable entries in storage followed by the unstable tail.
 *
 * Invariants: applied <= committed <= lastIndex(); firstIndex()-1 <= applied.
 */
export class RaftLog {
  readonly unstable: Unstable;
  /** Highest index known to be stored on a quorum. */
  committed: number;
  /** Highest index the application has applied (acknowledged through advance()). */
  applied: number;

  constructor(
    readonly storage: LogStorage,
    readonly maxApplyBytes: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** The term of entry `index`, or undefined when it is compacted or beyond the log. */
  termOrUndefined(index: number): number | undefined {
    const dummyIndex = this.firstIndex() - 1;
    if (index < dummyIndex || index > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(index);
    if (t !== undefined) return t;
    try {
      return this.storage.term(index);
    } catch (e) {
      if (isRaftError(e, 'ErrCompacted') || isRaftError(e, 'ErrUnavailable')) return undefined;
      throw e;
    }
  }

  /** Like termOrUndefined, but 0 for unknown entries (terms start at 1, so 0 never matches). */
  term(index: number): number {
    return this.termOrUndefined(index) ?? 0;
  }

  matchTerm(index: number, term: number): boolean {
    const t = this.termOrUndefined(index);
    return t !== undefined && t === term;
  }

  /**
   * Appends a leader's entries that follow (index, logTerm), resolving conflicts.
   * Returns the new last index, or undefined if the logs do not match at `index`.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new Error(`entry ${conflict} conflicts with committed entry [committed(${this.committed})]`);
      }
      this.append(ents.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    if (ents[0]!.index - 1 < this.committed) {
      throw new Error(`after(${ents[0]!.index - 1}) is out of range [committed(${this.committed})]`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry that is new or conflicts with ours, or 0 if all are present.
   * Entries carry their own indexes, so the search starts at ents[0].index.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * For a rejected append at (index, term): the largest index <= `index` whose term is <= `term`.
   * Lets the leader skip a whole conflicting term per round trip instead of one entry.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    for (; i > 0; i--) {
      const t = this.termOrUndefined(i);
      if (t === undefined || t <= term) break;
    }
    return i;
  }

  commitTo(toCommit: number): void {
    if (this.committed < toCommit) {
      if (this.lastIndex() < toCommit) {
        throw new Error(`tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]`);
      }
      this.committed = toCommit;
    }
  }

  /** Commits `index` only if it carries `term` (the current-term rule of Raft §5.4.2). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    if (this.committed < index || index < this.applied) {
      throw new Error(`applied(${index}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    }
    this.applied = index;
  }

  /** Highest index that is both committed and durable locally, so safe to apply. */
  private maxAppliable(): number {
    const stableLast = this.unstable.offset - 1;
    return Math.min(this.committed, stableLast);
  }

  hasNextCommittedEntries(after: number): boolean {
    if (this.unstable.snapshot !== undefined) return false;
    return this.maxAppliable() > Math.max(after, this.firstIndex() - 1);
  }

  /** Committed, durable entries after `after` (the last applied or handed-out index). */
  nextCommittedEntries(after: number): Entry[] {
    if (!this.hasNextCommittedEntries(after)) return [];
    const lo = Math.max(after + 1, this.firstIndex());
    return this.slice(lo, this.maxAppliable() + 1, this.maxApplyBytes);
  }

  /** Entries [lo, hi) from storage and/or the unstable tail, within maxBytes (at least one). */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo === hi) return [];
    const first = this.firstIndex();
    if (lo < first) throw new RaftError('ErrCompacted');
    if (hi > this.lastIndex() + 1) throw new Error(`slice[${lo},${hi}) out of bound [${first},${this.lastIndex()}]`);
    let ents: Entry[] = [];
    const uOffset = this.unstable.offset;
    if (lo < uOffset) {
      ents = this.storage.entries(lo, Math.min(hi, uOffset), maxBytes);
      // Storage cut the result short for size: don't reach into the unstable tail.
      if (ents.length < Math.min(hi, uOffset) - lo) return ents;
    }
    if (hi > uOffset) {
      const u = this.unstable.slice(Math.max(lo, uOffset), hi);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxBytes);
  }

  /** Entries from `index` to the end, within maxBytes. Throws ErrCompacted below the log. */
  entriesFrom(index: number, maxBytes: number): Entry[] {
    if (index > this.lastIndex()) return [];
    return this.slice(index, this.lastIndex() + 1, maxBytes);
  }

  /** Whether a candidate's log (lastIndex, lastTerm) is at least as up to date as ours (§5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  restore(snap: Snapshot): void {
    this.committed = snap.metadata.index;
    this.unstable.restore(snap);
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }
}
