import { describe, expect, it } from 'vitest';
import { dataDirLayout } from '../../src/storage/data-dir.js';
import { MemberStorage } from '../../src/storage/member-storage.js';
import type { Entry, Snapshot } from '../../src/raft/types.js';
import { useTempDirs } from '../wal/helpers.js';

const tempDir = useTempDirs();
const confState = { voters: [1, 2, 3], learners: [] };
const entriesFrom = (first: number, last: number): Entry[] =>
  Array.from({ length: last - first + 1 }, (_, i) => ({ index: first + i, term: 2, type: 0, data: new Uint8Array(0) }) as Entry);

describe('MemberStorage', () => {
  it('a snapshot at an applied index that a received snapshot already covers is skipped, not fatal', async () => {
    // Found by the whole-member simulator: a follower still applying entries up to 114 crossed
    // the snapshot threshold after the leader's snapshot at 121 was persisted; creating a
    // snapshot at 114 threw ErrSnapOutOfDate and stopped the member. etcd ignores that error.
    const storage = await MemberStorage.create(dataDirLayout(await tempDir()), { memberId: 1, clusterId: 9 }, {});
    await storage.persist(undefined, entriesFrom(1, 114), { term: 2, vote: 1, commit: 114 });
    const received: Snapshot = { data: new Uint8Array(0), metadata: { index: 121, term: 2, confState } };
    await storage.persist(received, [], { term: 2, vote: 1, commit: 121 });
    expect(await storage.snapshotAt(114, confState, 10)).toBeUndefined();
    expect(storage.raftStorage.snapshot().metadata.index).toBe(121);
    expect(await storage.snapshotAt(121, confState, 10)).toBeUndefined();
    await storage.persist(undefined, entriesFrom(122, 130), { term: 2, vote: 1, commit: 130 });
    expect((await storage.snapshotAt(130, confState, 10))?.metadata.index).toBe(130);
    await storage.close();
  });
});
