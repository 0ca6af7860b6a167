import type { Entry, Snapshot } from './types.js';

/**
 * The part of the log not yet handed to storage: an optional incoming snapshot followed by
 * entries starting at `offset`.
 *
 * Example: storage holds 1..5, unstable holds 6..8 (offset 6). A leader's append at index 7
 * in a new term truncates to 6 and appends; an append at 4 replaces everything from offset.
 */
export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];
  /** Index of entries[0]. */
  offset: number;
  /** Entries [offset, offset + inProgress) have been handed out in a Ready but not acknowledged. */
  private inProgress = 0;
  private snapshotInProgress = false;

  constructor(offset: number) {
    this.offset = offset;
  }

  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.metadata.index === index) {
        return this.snapshot.metadata.term;
      }
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || index > last) return undefined;
    return this.entries[index - this.offset]!.term;
  }

  /** Entries not yet handed out for persistence. */
  nextEntries(): Entry[] {
    return this.inProgress >= this.entries.length ? [] : this.entries.slice(this.inProgress);
  }

  nextSnapshot(): Snapshot | undefined {
    return this.snapshotInProgress ? undefined : this.snapshot;
  }

  /** Marks everything currently unstable as handed out. */
  acceptInProgress(): void {
    this.inProgress = this.entries.length;
    if (this.snapshot !== undefined) this.snapshotInProgress = true;
  }

  /** Storage now holds entries up to `index` (with `term`); drop them from here. */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    // A conflicting append since the Ready replaced these entries: they are stale, keep ours.
    if (t === undefined || t !== term || index < this.offset) return;
    const n = index + 1 - this.offset;
    this.entries = this.entries.slice(n);
    this.offset = index + 1;
    this.inProgress = Math.max(0, this.inProgress - n);
  }

  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  restore(snap: Snapshot): void {
    this.offset = snap.metadata.index + 1;
    this.entries = [];
    this.inProgress = 0;
    this.snapshot = snap;
    this.snapshotInProgress = false;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const from = ents[0]!.index;
    if (from === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (from <= this.offset) {
      // Replaces everything unstable; storage's overlapping suffix is replaced when persisted.
      this.offset = from;
      this.entries = [...ents];
      this.inProgress = 0;
    } else {
      this.entries = this.entries.slice(0, from - this.offset);
      for (const e of ents) this.entries.push(e);
      this.inProgress = Math.min(this.inProgress, from - this.offset);
    }
  }

  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
