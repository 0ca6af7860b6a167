import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/raft/memory-storage.js';
import { isRaftError, type RaftErrorCode } from '../../src/raft/errors.js';
import { EntryType, type ConfState, type Entry, type Snapshot } from '../../src/raft/types.js';

function ent(index: number, term: number, dataLen = 0): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(dataLen) };
}

const CS: ConfState = { voters: [1, 2, 3], learners: [] };

function snap(index: number, term: number, cs: ConfState = CS): Snapshot {
  return { data: new Uint8Array([index]), metadata: { index, term, confState: cs } };
}

/**
 * A storage whose dummy entry is 3/3 (a snapshot at index 3) holding 4/4 and 5/5, the layout
 * etcd's storage tests use: firstIndex 4, lastIndex 5.
 */
function storage345(dataLen = 0): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot(snap(3, 3));
  s.append([ent(4, 4, dataLen), ent(5, 5, dataLen)]);
  return s;
}

/** The whole log including the dummy boundary, as index/term strings. */
function dump(s: MemoryStorage): string[] {
  const out = [`${s.firstIndex() - 1}/${s.term(s.firstIndex() - 1)}`];
  if (s.lastIndex() >= s.firstIndex()) {
    for (const e of s.entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER)) out.push(`${e.index}/${e.term}`);
  }
  return out;
}

/** Asserts that `fn` throws a RaftError with `code`, checked via isRaftError as callers do. */
function expectRaftError(fn: () => unknown, code: RaftErrorCode): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}`).toBeDefined();
  expect(isRaftError(caught, code), `expected ${code}, got ${String(caught)}`).toBe(true);
}

describe('MemoryStorage, fresh', () => {
  it('has only the dummy entry at 0', () => {
    const s = new MemoryStorage();
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expectRaftError(() => s.term(1), 'ErrUnavailable');
    expect(s.entries(1, 1, 100)).toEqual([]);
    expect(s.snapshot().metadata.index).toBe(0);
    expect(s.initialState()).toEqual({ hardState: { term: 0, vote: 0, commit: 0 }, confState: { voters: [], learners: [] } });
  });

  it('stores a hard state for initialState', () => {
    const s = new MemoryStorage();
    s.setHardState({ term: 3, vote: 2, commit: 1 });
    expect(s.initialState().hardState).toEqual({ term: 3, vote: 2, commit: 1 });
  });
});

describe('MemoryStorage.term / firstIndex / lastIndex', () => {
  it('answers for the dummy boundary and stored entries', () => {
    const s = storage345();
    expect(s.firstIndex()).toBe(4);
    expect(s.lastIndex()).toBe(5);
    expect(s.term(3)).toBe(3); // the snapshot's term via the dummy entry
    expect(s.term(4)).toBe(4);
    expect(s.term(5)).toBe(5);
  });

  it('throws ErrCompacted below the dummy and ErrUnavailable beyond the last', () => {
    const s = storage345();
    expectRaftError(() => s.term(2), 'ErrCompacted');
    expectRaftError(() => s.term(0), 'ErrCompacted');
    expectRaftError(() => s.term(6), 'ErrUnavailable');
  });
});

describe('MemoryStorage.entries', () => {
  it('returns [lo, hi)', () => {
    const s = storage345();
    expect(s.entries(4, 5, Infinity).map((e) => e.index)).toEqual([4]);
    expect(s.entries(4, 6, Infinity).map((e) => e.index)).toEqual([4, 5]);
    expect(s.entries(5, 6, Infinity).map((e) => e.index)).toEqual([5]);
  });

  it('throws ErrCompacted at or below the dummy index', () => {
    const s = storage345();
    expectRaftError(() => s.entries(3, 5, Infinity), 'ErrCompacted');
    expectRaftError(() => s.entries(2, 5, Infinity), 'ErrCompacted');
  });

  it('throws ErrUnavailable past lastIndex + 1', () => {
    const s = storage345();
    expectRaftError(() => s.entries(4, 7, Infinity), 'ErrUnavailable');
  });

  it('honours the size limit but always returns at least one entry', () => {
    const s = new MemoryStorage();
    // Each entry costs 10 data bytes + 16 overhead = 26.
    s.append([ent(1, 1, 10), ent(2, 1, 10), ent(3, 1, 10), ent(4, 1, 10)]);
    expect(s.entries(1, 5, 0).map((e) => e.index)).toEqual([1]);
    expect(s.entries(1, 5, 25).map((e) => e.index)).toEqual([1]);
    expect(s.entries(1, 5, 26).map((e) => e.index)).toEqual([1]);
    expect(s.entries(1, 5, 51).map((e) => e.index)).toEqual([1]);
    expect(s.entries(1, 5, 52).map((e) => e.index)).toEqual([1, 2]);
    expect(s.entries(1, 5, 78).map((e) => e.index)).toEqual([1, 2, 3]);
    expect(s.entries(1, 5, 103).map((e) => e.index)).toEqual([1, 2, 3]);
    expect(s.entries(1, 5, 104).map((e) => e.index)).toEqual([1, 2, 3, 4]);
  });

  it('returns a copy: appending afterwards does not change an earlier result', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1)]);
    const got = s.entries(1, 3, Infinity);
    s.append([ent(2, 2), ent(3, 2)]);
    expect(got.map((e) => `${e.index}/${e.term}`)).toEqual(['1/1', '2/1']);
  });
});

describe('MemoryStorage.compact', () => {
  it('refuses to compact at or below the current dummy (ErrCompacted)', () => {
    const s = storage345();
    expectRaftError(() => s.compact(2), 'ErrCompacted');
    expectRaftError(() => s.compact(3), 'ErrCompacted');
    expect(dump(s)).toEqual(['3/3', '4/4', '5/5']);
  });

  it('discards up to and including the index, keeping its term as the new dummy', () => {
    const s = storage345();
    s.compact(4);
    expect(dump(s)).toEqual(['4/4', '5/5']);
    expect(s.firstIndex()).toBe(5);
    expectRaftError(() => s.term(3), 'ErrCompacted');
    s.compact(5);
    expect(dump(s)).toEqual(['5/5']);
    expect(s.firstIndex()).toBe(6);
    expect(s.lastIndex()).toBe(5);
  });

  it('refuses to compact beyond the last entry (ErrUnavailable)', () => {
    const s = storage345();
    expectRaftError(() => s.compact(6), 'ErrUnavailable');
  });
});

describe('MemoryStorage.createSnapshot', () => {
  it('records a snapshot at an index without discarding entries', () => {
    const s = storage345();
    const cs: ConfState = { voters: [1, 2], learners: [3] };
    const data = new Uint8Array([9, 9]);
    const sn = s.createSnapshot(4, cs, data);
    expect(sn.metadata).toEqual({ index: 4, term: 4, confState: cs });
    expect(sn.data).toBe(data);
    expect(s.snapshot()).toBe(sn);
    expect(s.firstIndex()).toBe(4);
    expect(s.lastIndex()).toBe(5);
    expect(s.createSnapshot(5, cs, data).metadata.term).toBe(5);
  });

  it('refuses an index at or below the current snapshot (ErrSnapOutOfDate)', () => {
    const s = storage345();
    expectRaftError(() => s.createSnapshot(3, CS, new Uint8Array()), 'ErrSnapOutOfDate');
    s.createSnapshot(5, CS, new Uint8Array());
    expectRaftError(() => s.createSnapshot(4, CS, new Uint8Array()), 'ErrSnapOutOfDate');
    expectRaftError(() => s.createSnapshot(5, CS, new Uint8Array()), 'ErrSnapOutOfDate');
  });

  it('refuses an index beyond the log (ErrUnavailable)', () => {
    const s = storage345();
    expectRaftError(() => s.createSnapshot(6, CS, new Uint8Array()), 'ErrUnavailable');
  });
});

describe('MemoryStorage.applySnapshot', () => {
  it('replaces the log with the snapshot boundary', () => {
    const s = storage345();
    const cs: ConfState = { voters: [4, 5], learners: [6] };
    s.applySnapshot(snap(10, 7, cs));
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(10);
    expect(s.term(10)).toBe(7);
    expectRaftError(() => s.term(5), 'ErrCompacted');
    expect(s.snapshot().metadata.index).toBe(10);
    expect(s.initialState().confState).toEqual(cs);
  });

  it('even a snapshot inside the current log drops the later entries', () => {
    const s = storage345();
    s.applySnapshot(snap(4, 4));
    expect(dump(s)).toEqual(['4/4']);
  });

  it('refuses an out-of-date snapshot (ErrSnapOutOfDate) and keeps the log', () => {
    const s = storage345();
    expectRaftError(() => s.applySnapshot(snap(3, 3)), 'ErrSnapOutOfDate');
    expectRaftError(() => s.applySnapshot(snap(2, 2)), 'ErrSnapOutOfDate');
    expect(dump(s)).toEqual(['3/3', '4/4', '5/5']);
  });
});

describe('MemoryStorage.append', () => {
  // The cases of etcd's TestStorageAppend, on the 3/3, 4/4, 5/5 layout.
  const cases: Array<{ name: string; in: Entry[]; want: string[] }> = [
    { name: 'entirely compacted: ignored', in: [ent(1, 1), ent(2, 2)], want: ['3/3', '4/4', '5/5'] },
    { name: 'identical: no change', in: [ent(3, 3), ent(4, 4), ent(5, 5)], want: ['3/3', '4/4', '5/5'] },
    { name: 'conflicting suffix is replaced', in: [ent(3, 3), ent(4, 6), ent(5, 6)], want: ['3/3', '4/6', '5/6'] },
    { name: 'extends the log', in: [ent(3, 3), ent(4, 4), ent(5, 5), ent(6, 5)], want: ['3/3', '4/4', '5/5', '6/5'] },
    { name: 'incoming compacted prefix is skipped', in: [ent(2, 3), ent(3, 3), ent(4, 5)], want: ['3/3', '4/5'] },
    { name: 'truncates the existing suffix', in: [ent(4, 5)], want: ['3/3', '4/5'] },
    { name: 'appends right after the last', in: [ent(6, 5)], want: ['3/3', '4/4', '5/5', '6/5'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = storage345();
      s.append(c.in);
      expect(dump(s)).toEqual(c.want);
    });
  }

  it('an empty append is a no-op', () => {
    const s = storage345();
    s.append([]);
    expect(dump(s)).toEqual(['3/3', '4/4', '5/5']);
  });

  it('throws on a gap after the last entry', () => {
    const s = storage345();
    expect(() => s.append([ent(7, 5)])).toThrow(/missing log entry/);
    expect(dump(s)).toEqual(['3/3', '4/4', '5/5']);
  });

  it('truncating does not disturb the dummy after a compaction', () => {
    const s = storage345();
    s.append([ent(6, 5), ent(7, 5)]);
    s.compact(5);
    s.append([ent(6, 6)]);
    expect(dump(s)).toEqual(['5/5', '6/6']);
  });
});
