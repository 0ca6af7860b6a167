import { describe, expect, it } from 'vitest';
import { Unstable } from '../../src/raft/unstable.js';
import { EntryType, type Entry, type Snapshot } from '../../src/raft/types.js';

function ent(index: number, term: number): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(0) };
}

function snap(index: number, term: number): Snapshot {
  return { data: new Uint8Array(0), metadata: { index, term, confState: { voters: [1], learners: [] } } };
}

/** Builds an Unstable with optional snapshot and entries starting at `offset`. */
function unstable(offset: number, ents: Entry[], s?: Snapshot): Unstable {
  const u = new Unstable(offset);
  u.entries = [...ents];
  u.snapshot = s;
  return u;
}

/** Compact (index/term) view of entries for readable assertions. */
function ids(ents: readonly Entry[]): string[] {
  return ents.map((e) => `${e.index}/${e.term}`);
}

describe('Unstable first/last index', () => {
  it('knows a first index only with a snapshot', () => {
    expect(unstable(5, [ent(5, 1)]).maybeFirstIndex()).toBeUndefined();
    expect(unstable(5, [ent(5, 1)], snap(4, 1)).maybeFirstIndex()).toBe(5);
    expect(unstable(5, [], snap(4, 1)).maybeFirstIndex()).toBe(5);
  });

  it('last index comes from entries, else the snapshot, else unknown', () => {
    expect(unstable(5, [ent(5, 1), ent(6, 1)]).maybeLastIndex()).toBe(6);
    expect(unstable(5, [ent(5, 1)], snap(4, 1)).maybeLastIndex()).toBe(5);
    expect(unstable(5, [], snap(4, 1)).maybeLastIndex()).toBe(4);
    expect(unstable(0, []).maybeLastIndex()).toBeUndefined();
  });
});

describe('Unstable.maybeTerm', () => {
  it('answers for unstable entries only', () => {
    const u = unstable(5, [ent(5, 1), ent(6, 2)]);
    expect(u.maybeTerm(5)).toBe(1);
    expect(u.maybeTerm(6)).toBe(2);
    expect(u.maybeTerm(4)).toBeUndefined();
    expect(u.maybeTerm(7)).toBeUndefined();
  });

  it('answers for the snapshot index, not below it', () => {
    const u = unstable(5, [ent(5, 2)], snap(4, 1));
    expect(u.maybeTerm(4)).toBe(1);
    expect(u.maybeTerm(5)).toBe(2);
    expect(u.maybeTerm(3)).toBeUndefined();
    expect(u.maybeTerm(6)).toBeUndefined();
  });

  it('snapshot only', () => {
    const u = unstable(5, [], snap(4, 1));
    expect(u.maybeTerm(4)).toBe(1);
    expect(u.maybeTerm(5)).toBeUndefined();
    expect(u.maybeTerm(3)).toBeUndefined();
  });

  it('nothing unstable', () => {
    const u = unstable(5, []);
    expect(u.maybeTerm(4)).toBeUndefined();
    expect(u.maybeTerm(5)).toBeUndefined();
  });
});

describe('Unstable.truncateAndAppend', () => {
  it('appends directly after the last entry', () => {
    const u = unstable(5, [ent(5, 1)]);
    u.truncateAndAppend([ent(6, 1), ent(7, 1)]);
    expect(u.offset).toBe(5);
    expect(ids(u.entries)).toEqual(['5/1', '6/1', '7/1']);
  });

  it('appends to an empty tail at offset', () => {
    const u = unstable(5, []);
    u.truncateAndAppend([ent(5, 1)]);
    expect(u.offset).toBe(5);
    expect(ids(u.entries)).toEqual(['5/1']);
  });

  it('replaces everything when the new entries start at offset', () => {
    const u = unstable(5, [ent(5, 1)]);
    u.truncateAndAppend([ent(5, 2), ent(6, 2)]);
    expect(u.offset).toBe(5);
    expect(ids(u.entries)).toEqual(['5/2', '6/2']);
  });

  it('replaces everything and moves offset back when they start before it', () => {
    const u = unstable(5, [ent(5, 1)]);
    u.truncateAndAppend([ent(4, 2), ent(5, 2), ent(6, 2)]);
    expect(u.offset).toBe(4);
    expect(ids(u.entries)).toEqual(['4/2', '5/2', '6/2']);
  });

  it('truncates a conflicting suffix in the middle', () => {
    const u = unstable(5, [ent(5, 1), ent(6, 1), ent(7, 1)]);
    u.truncateAndAppend([ent(6, 2)]);
    expect(u.offset).toBe(5);
    expect(ids(u.entries)).toEqual(['5/1', '6/2']);
    const u2 = unstable(5, [ent(5, 1), ent(6, 1), ent(7, 1)]);
    u2.truncateAndAppend([ent(7, 2), ent(8, 2)]);
    expect(ids(u2.entries)).toEqual(['5/1', '6/1', '7/2', '8/2']);
  });

  it('does not alias the caller array', () => {
    const incoming = [ent(4, 2)];
    const u = unstable(5, [ent(5, 1)]);
    u.truncateAndAppend(incoming);
    incoming.push(ent(5, 2));
    expect(ids(u.entries)).toEqual(['4/2']);
  });
});

describe('Unstable in-progress tracking', () => {
  it('nextEntries hands out each entry once; acceptInProgress marks them', () => {
    const u = unstable(5, [ent(5, 1), ent(6, 1)]);
    expect(ids(u.nextEntries())).toEqual(['5/1', '6/1']);
    u.acceptInProgress();
    expect(u.nextEntries()).toEqual([]);
    u.truncateAndAppend([ent(7, 1)]);
    expect(ids(u.nextEntries())).toEqual(['7/1']);
  });

  it('a snapshot is handed out once', () => {
    const u = unstable(5, [], snap(4, 1));
    expect(u.nextSnapshot()?.metadata.index).toBe(4);
    u.acceptInProgress();
    expect(u.nextSnapshot()).toBeUndefined();
    // Still there (not yet stable) for term lookups.
    expect(u.snapshot?.metadata.index).toBe(4);
  });

  it('a conflict inside the in-progress range re-offers the replacements', () => {
    const u = unstable(5, [ent(5, 1), ent(6, 1), ent(7, 1)]);
    u.acceptInProgress();
    u.truncateAndAppend([ent(6, 2)]);
    // 5 was handed out and is unaffected; 6 is new and must be handed out again.
    expect(ids(u.nextEntries())).toEqual(['6/2']);
  });

  it('a conflict at or before offset re-offers everything', () => {
    const u = unstable(5, [ent(5, 1), ent(6, 1)]);
    u.acceptInProgress();
    u.truncateAndAppend([ent(4, 2)]);
    expect(ids(u.nextEntries())).toEqual(['4/2']);
  });

  it('an append after the in-progress range keeps them in progress', () => {
    const u = unstable(5, [ent(5, 1), ent(6, 1)]);
    u.acceptInProgress();
    u.truncateAndAppend([ent(7, 1)]);
    expect(ids(u.nextEntries())).toEqual(['7/1']);
  });
});

describe('Unstable.stableTo', () => {
  it('drops entries up to a matching (index, term)', () => {
    const u = unstable(5, [ent(5, 1), ent(6, 1), ent(7, 1)]);
    u.acceptInProgress();
    u.stableTo(6, 1);
    expect(u.offset).toBe(7);
    expect(ids(u.entries)).toEqual(['7/1']);
    // 7 stays in progress: it was handed out with 5 and 6.
    expect(u.nextEntries()).toEqual([]);
    u.stableTo(7, 1);
    expect(u.offset).toBe(8);
    expect(u.entries).toEqual([]);
  });

  it('keeps not-yet-handed-out entries offered after a partial stableTo', () => {
    const u = unstable(5, [ent(5, 1)]);
    u.acceptInProgress();
    u.truncateAndAppend([ent(6, 1)]);
    u.stableTo(5, 1);
    expect(u.offset).toBe(6);
    expect(ids(u.nextEntries())).toEqual(['6/1']);
  });

  it('ignores a mismatching term (the entries were replaced since the Ready)', () => {
    const u = unstable(5, [ent(5, 1), ent(6, 2)]);
    u.stableTo(6, 1);
    expect(u.offset).toBe(5);
    expect(ids(u.entries)).toEqual(['5/1', '6/2']);
  });

  it('ignores indexes outside the unstable entries', () => {
    const u = unstable(5, [ent(5, 1)]);
    u.stableTo(4, 1);
    u.stableTo(6, 1);
    expect(u.offset).toBe(5);
    expect(u.entries.length).toBe(1);
  });

  it('ignores the snapshot index (that is stableSnapTo’s job)', () => {
    const u = unstable(5, [ent(5, 1)], snap(4, 1));
    u.stableTo(4, 1);
    expect(u.offset).toBe(5);
    expect(u.entries.length).toBe(1);
    expect(u.snapshot).toBeDefined();
  });
});

describe('Unstable.stableSnapTo and restore', () => {
  it('stableSnapTo drops only the matching snapshot', () => {
    const u = unstable(5, [], snap(4, 1));
    u.stableSnapTo(3);
    expect(u.snapshot).toBeDefined();
    u.stableSnapTo(4);
    expect(u.snapshot).toBeUndefined();
  });

  it('restore replaces everything with the snapshot', () => {
    const u = unstable(5, [ent(5, 1), ent(6, 1)]);
    u.acceptInProgress();
    u.restore(snap(10, 3));
    expect(u.offset).toBe(11);
    expect(u.entries).toEqual([]);
    expect(u.snapshot?.metadata.index).toBe(10);
    expect(u.maybeTerm(10)).toBe(3);
    expect(u.maybeFirstIndex()).toBe(11);
    expect(u.maybeLastIndex()).toBe(10);
    // The new snapshot has not been handed out yet, even though the old one might have been.
    expect(u.nextSnapshot()?.metadata.index).toBe(10);
    // Entries after the snapshot are offered from the start.
    u.truncateAndAppend([ent(11, 3)]);
    expect(ids(u.nextEntries())).toEqual(['11/3']);
  });

  it('restore re-offers a new snapshot even if a previous one was in progress', () => {
    const u = unstable(5, [], snap(4, 1));
    u.acceptInProgress();
    u.restore(snap(8, 2));
    expect(u.nextSnapshot()?.metadata.index).toBe(8);
  });
});

describe('Unstable.slice', () => {
  it('returns entries by absolute index', () => {
    const u = unstable(5, [ent(5, 1), ent(6, 1), ent(7, 2)]);
    expect(ids(u.slice(5, 8))).toEqual(['5/1', '6/1', '7/2']);
    expect(ids(u.slice(6, 7))).toEqual(['6/1']);
    expect(u.slice(6, 6)).toEqual([]);
  });
});
