import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMPTY_HARD_STATE } from '../../src/raft/types.js';
import { isWalError, WalError } from '../../src/wal/errors.js';
import { RecordType } from '../../src/wal/record.js';
import { parseSegmentName } from '../../src/wal/segment.js';
import { Wal } from '../../src/wal/wal.js';
import { entries, entry, entryIndexes, fileFrames, segmentFiles, useTempDirs } from './helpers.js';

const META = new TextEncoder().encode('cluster=7 member=3');

const tempDir = useTempDirs();

async function expectCode(p: Promise<unknown>, code: WalError['code']): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(isWalError(caught, code), `expected ${code}, got ${String(caught)}`).toBe(true);
}

describe('Wal', () => {
  it('round-trips metadata, hard state and entries across close and open', async () => {
    const dir = await tempDir();
    const wal = await Wal.create(dir, { metadata: META });
    await wal.save({ entries: entries(1, 3, 1), hardState: { term: 1, vote: 2, commit: 1 } });
    await wal.save({ entries: entries(4, 5, 1) });
    await wal.save({ entries: [], hardState: { term: 1, vote: 2, commit: 5 } });
    await wal.close();

    const first = await Wal.open(dir);
    expect(first.metadata).toEqual(META);
    expect(first.hardState).toEqual({ term: 1, vote: 2, commit: 5 });
    expect(first.snapshot).toBeUndefined();
    expect(first.entries).toEqual(entries(1, 5, 1));
    expect(first.repaired).toBeUndefined();
    await first.wal.save({ entries: [entry(6, 2)], hardState: { term: 2, vote: 3, commit: 6 } });
    await first.wal.close();

    const second = await Wal.open(dir);
    expect(second.hardState).toEqual({ term: 2, vote: 3, commit: 6 });
    expect(second.entries).toEqual([...entries(1, 5, 1), entry(6, 2)]);
    await second.wal.close();
  });

  it('opens a fresh log as empty', async () => {
    const dir = await tempDir();
    await (await Wal.create(dir, { metadata: META })).close();
    const { wal, hardState, entries: ents, snapshot } = await Wal.open(dir);
    expect(hardState).toEqual(EMPTY_HARD_STATE);
    expect(ents).toEqual([]);
    expect(snapshot).toBeUndefined();
    await wal.close();
  });

  it('replaces a conflicting suffix on replay', async () => {
    const dir = await tempDir();
    const wal = await Wal.create(dir, { metadata: META });
    await wal.save({ entries: entries(1, 5, 1) });
    await wal.save({ entries: entries(3, 4, 2) });
    await wal.close();

    const first = await Wal.open(dir);
    expect(first.entries).toEqual([...entries(1, 2, 1), ...entries(3, 4, 2)]);
    // A second rewrite after a restart, reaching further back.
    await first.wal.save({ entries: entries(2, 6, 3) });
    await first.wal.close();

    const second = await Wal.open(dir);
    expect(second.entries).toEqual([entry(1, 1), ...entries(2, 6, 3)]);
    await second.wal.close();
  });

  it('rolls over to new segments and replays across them', async () => {
    const dir = await tempDir();
    const wal = await Wal.create(dir, { metadata: META, segmentBytes: 300 });
    for (let i = 1; i <= 60; i++) {
      await wal.save({ entries: [entry(i, 1, `payload-${i}`.padEnd(24, '.'))], hardState: { term: 1, vote: 1, commit: i - 1 } });
    }
    await wal.close();

    const names = await segmentFiles(dir);
    expect(names.length).toBeGreaterThan(5);
    for (const [k, name] of names.entries()) {
      const id = parseSegmentName(name)!;
      expect(id.seq).toBe(k);
      const frames = await fileFrames(dir, name);
      expect(frames[0]!.record.type).toBe(RecordType.Metadata);
      // The name's index is a lower bound for every entry in the segment.
      for (const index of entryIndexes(frames)) expect(index).toBeGreaterThanOrEqual(id.firstIndex);
    }

    const { wal: reopened, entries: ents, hardState } = await Wal.open(dir, { segmentBytes: 300 });
    expect(ents).toEqual(entries(1, 60, 1, (i) => `payload-${i}`.padEnd(24, '.')));
    expect(hardState).toEqual({ term: 1, vote: 1, commit: 59 });
    await reopened.close();
  });

  it('replaces a suffix that spans segments, starting a new segment below the current first index', async () => {
    const dir = await tempDir();
    const wal = await Wal.create(dir, { metadata: META, segmentBytes: 200 });
    for (let i = 1; i <= 30; i++) await wal.save({ entries: [entry(i, 1)] });
    await wal.save({ entries: entries(10, 12, 2) });
    await wal.close();

    const names = await segmentFiles(dir);
    const last = parseSegmentName(names[names.length - 1]!)!;
    expect(last.firstIndex).toBe(10);
    const { wal: reopened, entries: ents } = await Wal.open(dir);
    expect(ents).toEqual([...entries(1, 9, 1), ...entries(10, 12, 2)]);
    await reopened.close();
  });

  it('returns only the entries after the latest snapshot marker', async () => {
    const dir = await tempDir();
    const wal = await Wal.create(dir, { metadata: META });
    await wal.save({ entries: entries(1, 10, 1) });
    await wal.saveSnapshotMarker({ index: 4, term: 1 });
    await wal.saveSnapshotMarker({ index: 6, term: 1 });
    await wal.close();

    const first = await Wal.open(dir);
    expect(first.snapshot).toEqual({ index: 6, term: 1 });
    expect(first.entries).toEqual(entries(7, 10, 1));
    await first.wal.save({ entries: [entry(11, 2)] });
    await first.wal.close();

    const second = await Wal.open(dir);
    expect(second.entries).toEqual([...entries(7, 10, 1), entry(11, 2)]);
    await second.wal.close();
  });

  it('accepts a snapshot beyond the end of the log (a follower catching up)', async () => {
    const dir = await tempDir();
    const wal = await Wal.create(dir, { metadata: META });
    await wal.save({ entries: entries(1, 5, 1) });
    await wal.saveSnapshotMarker({ index: 100, term: 4 });
    await expectCode(wal.save({ entries: [entry(100, 4)] }), 'ErrWalInvalidArgument');
    await wal.save({ entries: [entry(101, 4)], hardState: { term: 4, vote: 0, commit: 101 } });
    await wal.close();

    const { wal: reopened, snapshot, entries: ents, hardState } = await Wal.open(dir);
    expect(snapshot).toEqual({ index: 100, term: 4 });
    expect(ents).toEqual([entry(101, 4)]);
    expect(hardState).toEqual({ term: 4, vote: 0, commit: 101 });
    await reopened.close();
  });

  it('releases only whole segments below the snapshot marker, and replay still works', async () => {
    const dir = await tempDir();
    const wal = await Wal.create(dir, { metadata: META, segmentBytes: 250 });
    // The hard state is saved once: after release it survives only in the copies at segment starts.
    await wal.save({ entries: [entry(1, 1)], hardState: { term: 1, vote: 1, commit: 1 } });
    for (let i = 2; i <= 60; i++) await wal.save({ entries: [entry(i, 1)] });
    expect(await wal.releaseTo(60)).toEqual([]); // no snapshot yet: nothing may go

    await wal.saveSnapshotMarker({ index: 30, term: 1 });
    const before = await segmentFiles(dir);
    const maxIndex = new Map<string, number>();
    for (const name of before) maxIndex.set(name, Math.max(0, ...entryIndexes(await fileFrames(dir, name))));

    // Asking for more than the snapshot covers is clamped to the snapshot.
    const removed = await wal.releaseTo(1000);
    expect(removed.length).toBeGreaterThan(0);
    expect(removed).toEqual(before.slice(0, removed.length));
    for (const name of removed) expect(maxIndex.get(name)!).toBeLessThanOrEqual(30);
    const after = await segmentFiles(dir);
    expect(after).toEqual(before.slice(removed.length));
    // The first survivor is needed: it holds an entry after the snapshot.
    expect(maxIndex.get(after[0]!)!).toBeGreaterThan(30);

    await wal.save({ entries: [entry(61, 2)] });
    await wal.close();
    const { wal: reopened, snapshot, entries: ents, hardState, metadata } = await Wal.open(dir);
    expect(metadata).toEqual(META);
    expect(snapshot).toEqual({ index: 30, term: 1 });
    expect(ents).toEqual([...entries(31, 60, 1), entry(61, 2)]);
    expect(hardState).toEqual({ term: 1, vote: 1, commit: 1 });
    await reopened.close();
  });

  it('never releases the segment holding the latest snapshot marker', async () => {
    const dir = await tempDir();
    const wal = await Wal.create(dir, { metadata: META, segmentBytes: 250 });
    await wal.save({ entries: [entry(1, 1)], hardState: { term: 1, vote: 1, commit: 1 } });
    for (let i = 2; i <= 40; i++) await wal.save({ entries: [entry(i, 1)] });
    await wal.saveSnapshotMarker({ index: 40, term: 1 });
    const removed = await wal.releaseTo(40);
    const left = await segmentFiles(dir);
    expect(left.length).toBeGreaterThanOrEqual(1);
    const lastFrames = await fileFrames(dir, left[left.length - 1]!);
    expect(lastFrames.some((f) => f.record.type === RecordType.Snapshot)).toBe(true);
    expect(removed.length).toBeGreaterThan(0);
    await wal.close();

    const { wal: reopened, snapshot, entries: ents, hardState } = await Wal.open(dir);
    expect(snapshot).toEqual({ index: 40, term: 1 });
    expect(ents).toEqual([]);
    expect(hardState).toEqual({ term: 1, vote: 1, commit: 1 });
    await reopened.save({ entries: [entry(41, 1)] });
    await reopened.close();
    const again = await Wal.open(dir);
    expect(again.entries).toEqual([entry(41, 1)]);
    await again.wal.close();
  });

  it('refuses to create over an existing log, and to open where there is none', async () => {
    const dir = await tempDir();
    await expectCode(Wal.open(dir), 'ErrWalNotFound');
    await expectCode(Wal.open(join(dir, 'missing')), 'ErrWalNotFound');
    const wal = await Wal.create(dir, { metadata: META });
    await wal.save({ entries: [entry(1, 1)] });
    await wal.close();
    await expectCode(Wal.create(dir, { metadata: META }), 'ErrWalExists');
    // The existing log is untouched.
    const { wal: reopened, entries: ents } = await Wal.open(dir);
    expect(ents).toEqual([entry(1, 1)]);
    await reopened.close();
  });

  it('creates missing parent directories and clears a leftover from a crashed segment creation', async () => {
    const root = await tempDir();
    const dir = join(root, 'a', 'b');
    await (await Wal.create(dir, { metadata: META })).close();
    await writeFile(join(dir, '0000000000000001-0000000000000001.wal.tmp'), 'half written');
    const { wal } = await Wal.open(dir);
    await wal.close();
    expect(await segmentFiles(dir)).toEqual(['0000000000000000-0000000000000001.wal']);
  });

  it('rejects saves that would break the log', async () => {
    const dir = await tempDir();
    const wal = await Wal.create(dir, { metadata: META });
    await wal.save({ entries: entries(1, 3, 1) });
    await expectCode(wal.save({ entries: [entry(5, 1)] }), 'ErrWalInvalidArgument');
    await expectCode(wal.save({ entries: [entry(4, 1), entry(6, 1)] }), 'ErrWalInvalidArgument');
    await expectCode(wal.save({ entries: [entry(4, 2 ** 53)] }), 'ErrWalInvalidArgument');
    await expectCode(wal.save({ entries: [], hardState: { term: -1, vote: 0, commit: 0 } }), 'ErrWalInvalidArgument');
    await wal.saveSnapshotMarker({ index: 2, term: 1 });
    await expectCode(wal.saveSnapshotMarker({ index: 1, term: 1 }), 'ErrWalInvalidArgument');
    await expectCode(wal.save({ entries: [entry(2, 2)] }), 'ErrWalInvalidArgument');
    await wal.save({ entries: [entry(4, 1)] }); // the refused saves left no trace
    await wal.close();
    await expectCode(wal.save({ entries: [entry(5, 1)] }), 'ErrWalClosed');
    await expectCode(wal.releaseTo(1), 'ErrWalClosed');
    const { wal: reopened, entries: ents } = await Wal.open(dir);
    expect(ents).toEqual([entry(3, 1), entry(4, 1)]);
    await reopened.close();
  });

  it('lets queued saves finish when closed', async () => {
    const dir = await tempDir();
    const wal = await Wal.create(dir, { metadata: META });
    const saves = [wal.save({ entries: [entry(1, 1)] }), wal.save({ entries: [entry(2, 1)] })];
    await wal.close();
    await Promise.all(saves);
    const { wal: reopened, entries: ents } = await Wal.open(dir);
    expect(ents).toEqual(entries(1, 2, 1));
    await reopened.close();
  });
});
