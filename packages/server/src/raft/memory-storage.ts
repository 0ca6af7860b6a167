import { RaftError } from './errors.js';
import type { RaftStorage } from './storage.js';
import {
  EMPTY_HARD_STATE,
  EMPTY_SNAPSHOT,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
} from './types.js';
import { limitSize } from './util.js';

/**
 * In-memory RaftStorage for tests, the simulator and benchmarks.
 *
 * `ents[0]` is a dummy entry holding the snapshot's index and term, so that
 * term(firstIndex() - 1) answers without special cases.
 */
export class MemoryStorage implements RaftStorage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot = EMPTY_SNAPSHOT;
  private ents: Entry[] = [dummy(0, 0)];

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  term(index: number): number {
    const offset = this.ents[0]!.index;
    if (index < offset) throw new RaftError('ErrCompacted');
    if (index - offset >= this.ents.length) throw new RaftError('ErrUnavailable');
    return this.ents[index - offset]!.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw new RaftError('ErrCompacted');
    if (hi > this.lastIndex() + 1) {
      throw new RaftError('ErrUnavailable', `entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    }
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces everything with `snap` (a follower installing a leader's snapshot). */
  applySnapshot(snap: Snapshot): void {
    if (this.snap.metadata.index >= snap.metadata.index) throw new RaftError('ErrSnapOutOfDate');
    this.snap = snap;
    this.ents = [dummy(snap.metadata.index, snap.metadata.term)];
  }

  /**
   * Records a snapshot of the application's state at `index` (which must be applied), without
   * discarding entries; call compact() to release them.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) throw new RaftError('ErrSnapOutOfDate');
    if (index > this.lastIndex()) throw new RaftError('ErrUnavailable', `snapshot ${index} > last ${this.lastIndex()}`);
    this.snap = { data, metadata: { index, term: this.term(index), confState } };
    return this.snap;
  }

  /** Discards entries up to and including `compactIndex`. */
  compact(compactIndex: number): void {
    const offset = this.ents[0]!.index;
    if (compactIndex <= offset) throw new RaftError('ErrCompacted');
    if (compactIndex > this.lastIndex()) throw new RaftError('ErrUnavailable', `compact ${compactIndex} > last ${this.lastIndex()}`);
    const i = compactIndex - offset;
    const kept = this.ents.slice(i + 1);
    this.ents = [dummy(this.ents[i]!.index, this.ents[i]!.term), ...kept];
  }

  /**
   * Appends entries, replacing any existing suffix they conflict with. Entries at or below the
   * snapshot are ignored; a gap after the last entry is a caller bug.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[entries.length - 1]!.index;
    if (last < first) return;
    const live = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const offset = live[0]!.index - this.ents[0]!.index;
    if (offset > this.ents.length) {
      throw new Error(`missing log entry [last: ${this.lastIndex()}, append at: ${live[0]!.index}]`);
    }
    this.ents.length = offset;
    for (const e of live) this.ents.push(e);
  }
}

function dummy(index: number, term: number): Entry {
  return { index, term, type: 0, data: new Uint8Array(0) };
}
