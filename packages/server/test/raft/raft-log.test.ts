import { describe, expect, it } from 'vitest';
import { RaftLog } from '../../src/raft/raft-log.js';
import { MemoryStorage } from '../../src/raft/memory-storage.js';
import { isRaftError } from '../../src/raft/errors.js';
import { EntryType, type Entry, type Snapshot } from '../../src/raft/types.js';

const BIG = Number.MAX_SAFE_INTEGER;

function ent(index: number, term: number, dataLen = 0): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(dataLen) };
}

/** Entries index..index+terms.length-1 with the given terms. */
function ents(index: number, terms: number[], dataLen = 0): Entry[] {
  return terms.map((t, i) => ent(index + i, t, dataLen));
}

function snap(index: number, term: number): Snapshot {
  return { data: new Uint8Array(0), metadata: { index, term, confState: { voters: [1], learners: [] } } };
}

function ids(es: readonly Entry[]): string[] {
  return es.map((e) => `${e.index}/${e.term}`);
}

/** A storage holding `stored` after an optional snapshot. */
function storageWith(stored: Entry[], snapshot?: Snapshot): MemoryStorage {
  const s = new MemoryStorage();
  if (snapshot !== undefined) s.applySnapshot(snapshot);
  s.append(stored);
  return s;
}

/** A log over `stored` (durable) followed by `unstable` entries (not yet persisted). */
function logWith(stored: Entry[], unstable: Entry[] = [], opts: { snapshot?: Snapshot; maxApplyBytes?: number } = {}): RaftLog {
  const l = new RaftLog(storageWith(stored, opts.snapshot), opts.maxApplyBytes ?? BIG);
  if (unstable.length > 0) l.append(unstable);
  return l;
}

/** Everything in the log (storage and unstable) as index/term strings. */
function all(l: RaftLog): string[] {
  return ids(l.entriesFrom(l.firstIndex(), BIG));
}

describe('RaftLog construction and indexes', () => {
  it('starts committed and applied at the storage boundary', () => {
    const l = logWith(ents(11, [3, 3, 4]), [], { snapshot: snap(10, 3) });
    expect(l.firstIndex()).toBe(11);
    expect(l.lastIndex()).toBe(13);
    expect(l.committed).toBe(10);
    expect(l.applied).toBe(10);
    expect(l.unstable.offset).toBe(14);
    expect(l.lastTerm()).toBe(4);
  });

  it('the last index includes the unstable tail', () => {
    const l = logWith(ents(1, [1, 1]), ents(3, [2, 2]));
    expect(l.lastIndex()).toBe(4);
    expect(l.lastTerm()).toBe(2);
  });

  it('term() reads storage, unstable and the dummy boundary, 0 outside the log', () => {
    const l = logWith(ents(11, [3, 4]), ents(13, [5]), { snapshot: snap(10, 3) });
    expect(l.term(10)).toBe(3);
    expect(l.term(11)).toBe(3);
    expect(l.term(12)).toBe(4);
    expect(l.term(13)).toBe(5);
    expect(l.term(9)).toBe(0);
    expect(l.term(14)).toBe(0);
    expect(l.termOrUndefined(9)).toBeUndefined();
    expect(l.termOrUndefined(14)).toBeUndefined();
    expect(l.matchTerm(12, 4)).toBe(true);
    expect(l.matchTerm(12, 3)).toBe(false);
    expect(l.matchTerm(14, 0)).toBe(false);
  });
});

describe('RaftLog.findConflict', () => {
  // etcd's TestFindConflict on the log 1/1, 2/2, 3/3.
  const cases: Array<{ name: string; in: Entry[]; want: number }> = [
    { name: 'no entries', in: [], want: 0 },
    { name: 'all match', in: ents(1, [1, 2, 3]), want: 0 },
    { name: 'suffix matches', in: ents(2, [2, 3]), want: 0 },
    { name: 'last matches', in: ents(3, [3]), want: 0 },
    { name: 'new entries after all matching', in: ents(1, [1, 2, 3, 4, 4]), want: 4 },
    { name: 'new entries after a matching suffix', in: ents(2, [2, 3, 4, 4]), want: 4 },
    { name: 'only new entries', in: ents(4, [4, 4]), want: 4 },
    { name: 'conflict at the first', in: ents(1, [4, 4]), want: 1 },
    { name: 'conflict in the middle', in: ents(2, [1, 4, 4]), want: 2 },
    { name: 'conflict at the last', in: ents(3, [1, 2, 4, 4]), want: 3 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(logWith([], ents(1, [1, 2, 3])).findConflict(c.in)).toBe(c.want);
    });
  }
});

describe('RaftLog.maybeAppend', () => {
  // etcd's TestLogMaybeAppend: log 1/1, 2/2, 3/3 with committed 1.
  function base(): RaftLog {
    const l = logWith([], ents(1, [1, 2, 3]));
    l.committed = 1;
    return l;
  }
  const cases: Array<{
    name: string;
    index: number;
    logTerm: number;
    commit: number;
    in: Entry[];
    want: number | undefined;
    wantCommit: number;
    wantLog?: string[];
  }> = [
    { name: 'term mismatch at index', index: 3, logTerm: 2, commit: 3, in: ents(4, [4]), want: undefined, wantCommit: 1 },
    { name: 'index beyond the log', index: 4, logTerm: 4, commit: 3, in: ents(5, [4]), want: undefined, wantCommit: 1 },
    { name: 'match at last, no entries', index: 3, logTerm: 3, commit: 3, in: [], want: 3, wantCommit: 3 },
    { name: 'commit bounded by lastNew', index: 3, logTerm: 3, commit: 4, in: [], want: 3, wantCommit: 3 },
    { name: 'commit moves to the leader commit', index: 3, logTerm: 3, commit: 2, in: [], want: 3, wantCommit: 2 },
    { name: 'commit never decreases', index: 3, logTerm: 3, commit: 0, in: [], want: 3, wantCommit: 1 },
    { name: 'match at 0', index: 0, logTerm: 0, commit: 3, in: ents(1, [1]), want: 1, wantCommit: 1 },
    { name: 'append one', index: 3, logTerm: 3, commit: 3, in: ents(4, [4]), want: 4, wantCommit: 3 },
    { name: 'append one and commit it', index: 3, logTerm: 3, commit: 4, in: ents(4, [4]), want: 4, wantCommit: 4 },
    { name: 'commit bounded by the appended', index: 3, logTerm: 3, commit: 5, in: ents(4, [4]), want: 4, wantCommit: 4 },
    { name: 'append two', index: 3, logTerm: 3, commit: 5, in: ents(4, [4, 4]), want: 5, wantCommit: 5 },
    {
      name: 'conflict replaces the suffix',
      index: 2,
      logTerm: 2,
      commit: 4,
      in: ents(3, [4]),
      want: 3,
      wantCommit: 3,
      wantLog: ['1/1', '2/2', '3/4'],
    },
    {
      name: 'conflict earlier',
      index: 1,
      logTerm: 1,
      commit: 4,
      in: ents(2, [4]),
      want: 2,
      wantCommit: 2,
      wantLog: ['1/1', '2/4'],
    },
    {
      name: 'conflict with two new',
      index: 1,
      logTerm: 1,
      commit: 4,
      in: ents(2, [4, 4]),
      want: 3,
      wantCommit: 3,
      wantLog: ['1/1', '2/4', '3/4'],
    },
    {
      // A delayed, shorter append must not cut off entries we already have.
      name: 'matching but shorter append keeps our longer log',
      index: 1,
      logTerm: 1,
      commit: 3,
      in: ents(2, [2]),
      want: 2,
      wantCommit: 2,
      wantLog: ['1/1', '2/2', '3/3'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const l = base();
      expect(l.maybeAppend(c.index, c.logTerm, c.commit, c.in)).toBe(c.want);
      expect(l.committed).toBe(c.wantCommit);
      if (c.wantLog !== undefined) expect(all(l)).toEqual(c.wantLog);
    });
  }

  it('refuses to overwrite a committed entry', () => {
    const l = base();
    expect(() => l.maybeAppend(0, 0, 3, ents(1, [4]))).toThrow(/conflicts with committed/);
    expect(all(l)).toEqual(['1/1', '2/2', '3/3']);
  });

  it('a conflict reaching into storage replaces the durable suffix in the log view', () => {
    const l = logWith(ents(1, [1, 1, 1, 1]));
    l.committed = 2;
    expect(l.maybeAppend(2, 1, 2, ents(3, [2]))).toBe(3);
    expect(all(l)).toEqual(['1/1', '2/1', '3/2']);
    expect(l.lastIndex()).toBe(3);
    // Storage still holds the old 3 and 4 until the Ready is persisted; the log must not show them.
    expect(l.termOrUndefined(4)).toBeUndefined();
    expect(l.unstable.offset).toBe(3);
  });
});

describe('RaftLog.append', () => {
  it('refuses entries that would rewrite committed ones', () => {
    const l = logWith(ents(1, [1, 1, 1]));
    l.commitTo(2);
    expect(() => l.append(ents(2, [2]))).toThrow(/out of range/);
    expect(l.append(ents(3, [2]))).toBe(3);
    expect(l.append([])).toBe(3);
  });
});

describe('RaftLog.findConflictByTerm', () => {
  it('log from index 1 with terms 2,2,5,5,5', () => {
    const l = logWith(ents(1, [2, 2, 5, 5, 5]));
    expect(l.findConflictByTerm(5, 6)).toBe(5);
    expect(l.findConflictByTerm(5, 5)).toBe(5);
    // Skips the whole term-5 run in one step.
    expect(l.findConflictByTerm(5, 4)).toBe(2);
    expect(l.findConflictByTerm(5, 2)).toBe(2);
    expect(l.findConflictByTerm(5, 1)).toBe(0);
    expect(l.findConflictByTerm(1, 2)).toBe(1);
    expect(l.findConflictByTerm(1, 1)).toBe(0);
    expect(l.findConflictByTerm(0, 0)).toBe(0);
    // An index beyond the log starts from the last entry.
    expect(l.findConflictByTerm(30, 5)).toBe(5);
    expect(l.findConflictByTerm(30, 3)).toBe(2);
  });

  it('log after a snapshot at 10/3 with entries 11..15 terms 3,3,4,4,4', () => {
    // etcd's compacted-log examples.
    const l = logWith(ents(11, [3, 3, 4, 4, 4]), [], { snapshot: snap(10, 3) });
    expect(l.findConflictByTerm(30, 3)).toBe(12);
    expect(l.findConflictByTerm(14, 9)).toBe(14);
    expect(l.findConflictByTerm(14, 4)).toBe(14);
    expect(l.findConflictByTerm(14, 3)).toBe(12);
    // Below the snapshot the term is unknown: the first unknown index is a possible match.
    expect(l.findConflictByTerm(14, 2)).toBe(9);
    expect(l.findConflictByTerm(11, 2)).toBe(9);
    expect(l.findConflictByTerm(10, 2)).toBe(9);
    expect(l.findConflictByTerm(10, 3)).toBe(10);
    expect(l.findConflictByTerm(10, 0)).toBe(9);
  });

  it('looks through the unstable tail too', () => {
    const l = logWith(ents(1, [1, 1]), ents(3, [3, 3]));
    expect(l.findConflictByTerm(4, 2)).toBe(2);
    expect(l.findConflictByTerm(4, 3)).toBe(4);
  });
});

describe('RaftLog.commitTo', () => {
  it('moves forward within the log and never back', () => {
    const l = logWith(ents(1, [1, 1, 1]));
    l.commitTo(2);
    expect(l.committed).toBe(2);
    l.commitTo(1);
    expect(l.committed).toBe(2);
    l.commitTo(3);
    expect(l.committed).toBe(3);
  });

  it('throws beyond the last index', () => {
    const l = logWith(ents(1, [1, 1, 1]));
    expect(() => l.commitTo(4)).toThrow(/out of range/);
    expect(l.committed).toBe(0);
  });

  it('may commit unstable entries (commit is a cluster fact, not a local one)', () => {
    const l = logWith(ents(1, [1]), ents(2, [1]));
    l.commitTo(2);
    expect(l.committed).toBe(2);
  });
});

describe('RaftLog.maybeCommit', () => {
  it('commits only an index carrying the given term', () => {
    const l = logWith(ents(1, [1, 2, 2]));
    // Index 3 is from term 2; a term-3 leader may not commit it by counting (§5.4.2).
    expect(l.maybeCommit(3, 3)).toBe(false);
    expect(l.maybeCommit(3, 1)).toBe(false);
    expect(l.committed).toBe(0);
    expect(l.maybeCommit(3, 2)).toBe(true);
    expect(l.committed).toBe(3);
  });

  it('never moves the commit index back and reports no change', () => {
    const l = logWith(ents(1, [1, 2, 2]));
    l.commitTo(3);
    expect(l.maybeCommit(2, 2)).toBe(false);
    expect(l.maybeCommit(3, 2)).toBe(false);
    expect(l.committed).toBe(3);
  });

  it('an index beyond the log has no term and does not commit', () => {
    const l = logWith(ents(1, [1]));
    expect(l.maybeCommit(5, 1)).toBe(false);
    expect(l.committed).toBe(0);
  });
});

describe('RaftLog.appliedTo', () => {
  it('accepts indexes between applied and committed', () => {
    const l = logWith(ents(1, [1, 1, 1]));
    l.commitTo(2);
    l.appliedTo(1);
    expect(l.applied).toBe(1);
    l.appliedTo(2);
    expect(l.applied).toBe(2);
    expect(() => l.appliedTo(3)).toThrow(/out of range/);
    expect(() => l.appliedTo(1)).toThrow(/out of range/);
    // 0 means "nothing" and is ignored.
    l.appliedTo(0);
    expect(l.applied).toBe(2);
  });
});

describe('RaftLog.nextCommittedEntries', () => {
  /** storage 1..3, unstable 4..6, all term 1. */
  function mixed(maxApplyBytes = BIG): { l: RaftLog; s: MemoryStorage } {
    const s = storageWith(ents(1, [1, 1, 1], 4));
    const l = new RaftLog(s, maxApplyBytes);
    l.append(ents(4, [1, 1, 1], 4));
    return { l, s };
  }

  it('returns nothing until something is committed', () => {
    const { l } = mixed();
    expect(l.hasNextCommittedEntries(0)).toBe(false);
    expect(l.nextCommittedEntries(0)).toEqual([]);
  });

  it('returns only entries both committed and stable', () => {
    const { l, s } = mixed();
    l.commitTo(5);
    // 4 and 5 are committed but not durable here yet.
    expect(ids(l.nextCommittedEntries(0))).toEqual(['1/1', '2/1', '3/1']);
    // The application persists 4..6 and acknowledges up to 5 only.
    s.append(l.unstable.entries);
    l.stableTo(5, 1);
    expect(ids(l.nextCommittedEntries(0))).toEqual(['1/1', '2/1', '3/1', '4/1', '5/1']);
    // 6 is stable but not committed.
    l.stableTo(6, 1);
    expect(ids(l.nextCommittedEntries(0))).toEqual(['1/1', '2/1', '3/1', '4/1', '5/1']);
  });

  it('starts after `after`', () => {
    const { l } = mixed();
    l.commitTo(3);
    expect(ids(l.nextCommittedEntries(1))).toEqual(['2/1', '3/1']);
    expect(l.hasNextCommittedEntries(3)).toBe(false);
    expect(l.nextCommittedEntries(3)).toEqual([]);
  });

  it('is bounded by maxApplyBytes, at least one entry', () => {
    // Each entry costs 4 + 16 = 20 bytes.
    const { l } = mixed(45);
    l.commitTo(3);
    expect(ids(l.nextCommittedEntries(0))).toEqual(['1/1', '2/1']);
    const { l: tiny } = mixed(1);
    tiny.commitTo(3);
    expect(ids(tiny.nextCommittedEntries(0))).toEqual(['1/1']);
  });

  it('returns nothing while a snapshot is pending', () => {
    const { l } = mixed();
    l.commitTo(3);
    l.restore(snap(10, 2));
    expect(l.hasNextCommittedEntries(0)).toBe(false);
    expect(l.nextCommittedEntries(0)).toEqual([]);
  });

  it('never returns entries at or below the first index - 1', () => {
    const l = logWith(ents(11, [3, 3]), [], { snapshot: snap(10, 3) });
    l.commitTo(12);
    expect(ids(l.nextCommittedEntries(0))).toEqual(['11/3', '12/3']);
  });
});

describe('RaftLog.slice', () => {
  /** storage 1..3, unstable 4..6; each entry costs 20 bytes. */
  function mixed(): RaftLog {
    const l = new RaftLog(storageWith(ents(1, [1, 1, 1], 4)), BIG);
    l.append(ents(4, [2, 2, 2], 4));
    return l;
  }

  it('reads across the storage/unstable boundary', () => {
    const l = mixed();
    expect(ids(l.slice(2, 6, BIG))).toEqual(['2/1', '3/1', '4/2', '5/2']);
    expect(ids(l.slice(1, 4, BIG))).toEqual(['1/1', '2/1', '3/1']);
    expect(ids(l.slice(4, 7, BIG))).toEqual(['4/2', '5/2', '6/2']);
    expect(l.slice(3, 3, BIG)).toEqual([]);
  });

  it('applies the size limit across the boundary', () => {
    const l = mixed();
    expect(ids(l.slice(3, 5, 40))).toEqual(['3/1', '4/2']);
    expect(ids(l.slice(3, 5, 39))).toEqual(['3/1']);
    expect(ids(l.slice(2, 7, 60))).toEqual(['2/1', '3/1', '4/2']);
    expect(ids(l.slice(4, 7, 40))).toEqual(['4/2', '5/2']);
    // At least one entry, from either side.
    expect(ids(l.slice(1, 7, 0))).toEqual(['1/1']);
    expect(ids(l.slice(5, 7, 0))).toEqual(['5/2']);
  });

  it('stops at storage when storage already cut the result short', () => {
    const l = mixed();
    expect(ids(l.slice(1, 7, 20))).toEqual(['1/1']);
    expect(ids(l.slice(1, 7, 45))).toEqual(['1/1', '2/1']);
  });

  it('throws ErrCompacted below the first index and a plain error past the end', () => {
    const l = logWith(ents(11, [3, 3]), [], { snapshot: snap(10, 3) });
    let caught: unknown;
    try {
      l.slice(10, 12, BIG);
    } catch (e) {
      caught = e;
    }
    expect(isRaftError(caught, 'ErrCompacted')).toBe(true);
    expect(() => l.slice(11, 14, BIG)).toThrow(/out of bound/);
  });

  it('reads the unstable replacement, not storage’s stale suffix', () => {
    const l = logWith(ents(1, [1, 1, 1, 1, 1]));
    l.append(ents(4, [2]));
    expect(ids(l.slice(2, 5, BIG))).toEqual(['2/1', '3/1', '4/2']);
    expect(l.lastIndex()).toBe(4);
  });

  it('entriesFrom returns [] past the end and throws below the log', () => {
    const l = logWith(ents(11, [3, 3]), [], { snapshot: snap(10, 3) });
    expect(l.entriesFrom(13, BIG)).toEqual([]);
    expect(ids(l.entriesFrom(12, BIG))).toEqual(['12/3']);
    expect(() => l.entriesFrom(5, BIG)).toThrow();
  });
});

describe('RaftLog.isUpToDate', () => {
  // Our log ends at 3/3.
  const l = logWith(ents(1, [1, 2, 3]));
  it('a higher last term wins regardless of length', () => {
    expect(l.isUpToDate(1, 4)).toBe(true);
    expect(l.isUpToDate(3, 4)).toBe(true);
    expect(l.isUpToDate(10, 4)).toBe(true);
  });
  it('a lower last term loses regardless of length', () => {
    expect(l.isUpToDate(10, 2)).toBe(false);
    expect(l.isUpToDate(3, 2)).toBe(false);
  });
  it('the same last term needs at least our length', () => {
    expect(l.isUpToDate(2, 3)).toBe(false);
    expect(l.isUpToDate(3, 3)).toBe(true);
    expect(l.isUpToDate(4, 3)).toBe(true);
  });
});

describe('RaftLog.restore and stable snapshots', () => {
  it('restore replaces the log with the snapshot and commits it', () => {
    const l = logWith(ents(1, [1, 1]), ents(3, [1]));
    l.restore(snap(10, 4));
    expect(l.committed).toBe(10);
    expect(l.firstIndex()).toBe(11);
    expect(l.lastIndex()).toBe(10);
    expect(l.lastTerm()).toBe(4);
    expect(l.term(2)).toBe(0);
    expect(l.snapshot().metadata.index).toBe(10);
    l.stableSnapTo(10);
    expect(l.unstable.snapshot).toBeUndefined();
  });

  it('snapshot() falls back to storage without a pending one', () => {
    const l = logWith(ents(11, [3]), [], { snapshot: snap(10, 3) });
    expect(l.snapshot().metadata.index).toBe(10);
  });
});
