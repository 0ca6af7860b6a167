/**
 * Folding the records of a log, oldest first, into the state a restarting member needs: the
 * latest hard state, the latest snapshot marker and the entries after it.
 */
import type { Entry, HardState } from '../raft/types.js';
import { WalCorruptError } from './errors.js';
import { RecordType, type SnapshotMarker, type WalRecord } from './record.js';

export interface ReplayedLog {
  /** The last hard state recorded, if any was. */
  readonly hardState: HardState | undefined;
  /** The last snapshot marker recorded, if any was. */
  readonly snapshot: SnapshotMarker | undefined;
  /** The entries after the snapshot (or from index 1 without one), contiguous. */
  readonly entries: Entry[];
  /** The index the log ends at: its last entry, or the snapshot if that is further. */
  readonly lastIndex: number;
}

/** An entry and where it was read from, so a gap can be reported at its place in the files. */
interface Located {
  readonly entry: Entry;
  readonly segment: string;
  readonly offset: number;
}

export class LogReplay {
  private hardState: HardState | undefined;
  private snapshot: SnapshotMarker | undefined;
  /** Strictly increasing by index; gaps are allowed until finish() since a later record may fill them. */
  private readonly entries: Located[] = [];

  /** Applies `record`, read at `offset` of `segment`. Metadata is the caller's business. */
  apply(record: WalRecord, segment: string, offset: number): void {
    switch (record.type) {
      case RecordType.Entry:
        this.appendEntry({ entry: record.entry, segment, offset });
        break;
      case RecordType.HardState:
        this.hardState = record.hardState;
        break;
      case RecordType.Snapshot:
        this.snapshot = record.snapshot;
        // Entries the snapshot covers will never be returned; free them now.
        this.entries.splice(0, this.firstAbove(record.snapshot.index));
        break;
      case RecordType.Metadata:
        break;
    }
  }

  /**
   * The replayed log. Throws WalCorruptError if the surviving entries do not run without gaps
   * from just after the snapshot.
   */
  finish(): ReplayedLog {
    const base = this.snapshot?.index ?? 0;
    const live = this.entries.slice(this.firstAbove(base));
    let expected = base + 1;
    for (const { entry, segment, offset } of live) {
      if (entry.index !== expected) {
        throw new WalCorruptError(segment, offset, `entry ${entry.index} where ${expected} was expected: the log has a gap`);
      }
      expected++;
    }
    const lastEntry = this.entries[this.entries.length - 1]?.entry.index ?? 0;
    return {
      hardState: this.hardState,
      snapshot: this.snapshot,
      entries: live.map((l) => l.entry),
      lastIndex: Math.max(lastEntry, base),
    };
  }

  /** Raft replaces a conflicting suffix by appending from a lower index: drop everything >= it. */
  private appendEntry(located: Located): void {
    this.entries.length = this.firstAbove(located.entry.index - 1);
    this.entries.push(located);
  }

  /** Position of the first entry with index > `index` (binary search; entries are sorted). */
  private firstAbove(index: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.entry.index <= index) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
