import { cp, readFile, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WalCorruptError } from '../../src/wal/errors.js';
import { Wal } from '../../src/wal/wal.js';
import { entries, entry, fileFrames, segmentFiles, useTempDirs } from './helpers.js';

const META = new Uint8Array([0xca, 0xfe]);
const HS = { term: 1, vote: 1, commit: 3 };

const tempDir = useTempDirs();

/** A one-segment log: entries 1..3, a hard state, then entry 4 as the very last record. */
async function logWithLastEntry(): Promise<{ dir: string; segment: string; lastOffset: number; lastEnd: number }> {
  const dir = await tempDir();
  const wal = await Wal.create(dir, { metadata: META });
  await wal.save({ entries: entries(1, 3, 1), hardState: HS });
  await wal.save({ entries: [entry(4, 1, 'the last record, cut short')] });
  await wal.close();
  const [segment] = await segmentFiles(dir);
  const frames = await fileFrames(dir, segment!);
  const last = frames[frames.length - 1]!;
  return { dir, segment: segment!, lastOffset: last.offset, lastEnd: last.end };
}

/** Flips one bit of the byte at `offset` of `file`. */
async function flipByte(file: string, offset: number): Promise<void> {
  const buf = await readFile(file);
  buf[offset]! ^= 0x40;
  await writeFile(file, buf);
}

async function openError(dir: string): Promise<WalCorruptError> {
  try {
    const { wal } = await Wal.open(dir);
    await wal.close();
  } catch (e) {
    if (e instanceof WalCorruptError) return e;
    throw e;
  }
  throw new Error('open succeeded on a corrupt log');
}

describe('torn tail repair', () => {
  it('recovers from a cut at every byte of the last record', async () => {
    const pristine = await logWithLastEntry();
    const recordBytes = pristine.lastEnd - pristine.lastOffset;
    for (let keep = 0; keep < recordBytes; keep++) {
      const dir = await tempDir();
      await cp(pristine.dir, dir, { recursive: true });
      const file = join(dir, pristine.segment);
      await truncate(file, pristine.lastOffset + keep);

      const { wal, entries: ents, hardState, repaired } = await Wal.open(dir);
      expect(ents, `cut at ${keep}`).toEqual(entries(1, 3, 1));
      expect(hardState).toEqual(HS);
      if (keep === 0) expect(repaired).toBeUndefined();
      else expect(repaired).toMatchObject({ segment: pristine.segment, offset: pristine.lastOffset, droppedBytes: keep });
      expect((await stat(file)).size).toBe(pristine.lastOffset);

      await wal.save({ entries: [entry(4, 2, 'rewritten')] });
      await wal.close();
      const again = await Wal.open(dir);
      expect(again.entries).toEqual([...entries(1, 3, 1), entry(4, 2, 'rewritten')]);
      expect(again.repaired).toBeUndefined();
      await again.wal.close();
    }
  });

  it('drops a last record whose CRC fails', async () => {
    const { dir, segment, lastOffset, lastEnd } = await logWithLastEntry();
    await flipByte(join(dir, segment), lastEnd - 2); // inside the entry's data

    const { wal, entries: ents, repaired } = await Wal.open(dir);
    expect(ents).toEqual(entries(1, 3, 1));
    expect(repaired).toMatchObject({ offset: lastOffset, droppedBytes: lastEnd - lastOffset });
    expect(repaired!.reason).toMatch(/CRC/);
    await wal.save({ entries: [entry(4, 1)] });
    await wal.close();
    const again = await Wal.open(dir);
    expect(again.entries).toEqual(entries(1, 4, 1));
    await again.wal.close();
  });

  it('drops a last record whose length field is garbage', async () => {
    const { dir, segment, lastOffset } = await logWithLastEntry();
    await flipByte(join(dir, segment), lastOffset + 3); // the length's top byte: now far past the end
    const { wal, entries: ents, repaired } = await Wal.open(dir);
    expect(ents).toEqual(entries(1, 3, 1));
    expect(repaired?.offset).toBe(lastOffset);
    await wal.close();
  });

  it('drops zeros a crash left at the end of the file', async () => {
    const { dir, segment, lastEnd } = await logWithLastEntry();
    const file = join(dir, segment);
    await truncate(file, lastEnd + 4096);
    const { wal, entries: ents, repaired } = await Wal.open(dir);
    expect(ents).toEqual(entries(1, 4, 1, (i) => (i === 4 ? 'the last record, cut short' : `e${i}t1`)));
    expect(repaired).toMatchObject({ offset: lastEnd, droppedBytes: 4096 });
    await wal.close();
  });
});

describe('corruption', () => {
  it('refuses a bad record followed by valid ones, and leaves the file alone', async () => {
    const dir = await tempDir();
    const wal = await Wal.create(dir, { metadata: META });
    for (let i = 1; i <= 5; i++) await wal.save({ entries: [entry(i, 1)] });
    await wal.close();
    const [segment] = await segmentFiles(dir);
    const frames = await fileFrames(dir, segment!);
    const middle = frames[3]!; // entry 3: records 4 and 5 follow it
    const file = join(dir, segment!);
    await flipByte(file, middle.end - 1);
    const size = (await stat(file)).size;

    const err = await openError(dir);
    expect(err.code).toBe('ErrWalCorrupt');
    expect(err.segment).toBe(segment);
    expect(err.offset).toBe(middle.offset);
    expect(err.message).toMatch(/followed by a valid record/);
    expect((await stat(file)).size).toBe(size);
  });

  it('refuses a bad record with a damaged length followed by valid ones', async () => {
    const dir = await tempDir();
    const wal = await Wal.create(dir, { metadata: META });
    for (let i = 1; i <= 5; i++) await wal.save({ entries: [entry(i, 1)] });
    await wal.close();
    const [segment] = await segmentFiles(dir);
    const middle = (await fileFrames(dir, segment!))[2]!;
    await flipByte(join(dir, segment!), middle.offset + 3);
    const err = await openError(dir);
    expect(err.offset).toBe(middle.offset);
  });

  async function multiSegmentLog(): Promise<{ dir: string; names: string[] }> {
    const dir = await tempDir();
    const wal = await Wal.create(dir, { metadata: META, segmentBytes: 200 });
    for (let i = 1; i <= 30; i++) await wal.save({ entries: [entry(i, 1)] });
    await wal.close();
    const names = await segmentFiles(dir);
    expect(names.length).toBeGreaterThanOrEqual(3);
    return { dir, names };
  }

  it('refuses a bad last record in a segment that is not the last', async () => {
    const { dir, names } = await multiSegmentLog();
    const frames = await fileFrames(dir, names[0]!);
    const last = frames[frames.length - 1]!;
    await flipByte(join(dir, names[0]!), last.end - 1);
    const err = await openError(dir);
    expect(err.code).toBe('ErrWalCorrupt');
    expect(err.segment).toBe(names[0]);
    expect(err.offset).toBe(last.offset);
  });

  it('refuses a torn tail in a segment that is not the last', async () => {
    const { dir, names } = await multiSegmentLog();
    const frames = await fileFrames(dir, names[1]!);
    const last = frames[frames.length - 1]!;
    await truncate(join(dir, names[1]!), last.end - 3);
    const err = await openError(dir);
    expect(err.segment).toBe(names[1]);
    expect(err.offset).toBe(last.offset);
  });

  it('refuses a log with a segment missing from the middle', async () => {
    const { dir, names } = await multiSegmentLog();
    await unlink(join(dir, names[1]!));
    const err = await openError(dir);
    expect(err.code).toBe('ErrWalCorrupt');
    expect(err.segment).toBe(names[2]);
  });

  it('refuses a last segment whose only record, the metadata, is damaged', async () => {
    const dir = await tempDir();
    await (await Wal.create(dir, { metadata: META })).close();
    const [segment] = await segmentFiles(dir);
    await flipByte(join(dir, segment!), 9);
    const err = await openError(dir);
    expect(err.message).toMatch(/metadata/);
  });
});
