import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/raft/types.js';
import { SnapFileError } from '../../src/snap/snap-file.js';
import { Snapshotter } from '../../src/snap/snapshotter.js';
import { useTempDirs } from '../temp-dirs.js';

const tempDir = useTempDirs('snap');

function snap(index: number, term: number, data = [index % 256]): Snapshot {
  return { data: new Uint8Array(data), metadata: { index, term, confState: { voters: [1, 2, 3], learners: [4] } } };
}

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield new Uint8Array(Buffer.from(p));
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<string> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(Buffer.from(c));
  return Buffer.concat(out).toString();
}

const snapFiles = async (dir: string) => (await readdir(dir)).filter((n) => n.endsWith('.snap')).sort();

describe('Snapshotter', () => {
  it('file names sort by term then index, 16 hex digits each', () => {
    expect(Snapshotter.fileName(0x1a, 2)).toBe('0000000000000002-000000000000001a.snap');
  });

  it('saves and loads a snapshot', async () => {
    const dir = join(await tempDir(), 'snap');
    const s = await Snapshotter.open(dir);
    await s.save(snap(100, 3, [9, 8, 7]));
    const got = await s.load(100, 3);
    expect(got.metadata).toEqual({ index: 100, term: 3, confState: { voters: [1, 2, 3], learners: [4] } });
    expect([...got.data]).toEqual([9, 8, 7]);
    expect(await snapFiles(dir)).toEqual([Snapshotter.fileName(100, 3)]);
    // No temporary left behind.
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('survives reopening', async () => {
    const dir = await tempDir();
    await (await Snapshotter.open(dir)).save(snap(5, 1));
    const again = await Snapshotter.open(dir);
    expect((await again.load(5, 1)).metadata.index).toBe(5);
  });

  it('load of a missing snapshot throws', async () => {
    const s = await Snapshotter.open(await tempDir());
    await expect(s.load(1, 1)).rejects.toThrow();
  });

  it('load of a damaged snapshot throws a SnapFileError', async () => {
    const dir = await tempDir();
    const s = await Snapshotter.open(dir);
    await s.save(snap(7, 2, [1, 2, 3, 4]));
    const path = join(dir, Snapshotter.fileName(7, 2));
    const bytes = await readFile(path);
    bytes[bytes.length - 6]! ^= 0x10;
    await writeFile(path, bytes);
    await expect(s.load(7, 2)).rejects.toBeInstanceOf(SnapFileError);
    await writeFile(path, bytes.subarray(0, 20));
    await expect(s.load(7, 2)).rejects.toBeInstanceOf(SnapFileError);
  });

  it('a snapshot saved under one name does not load under another', async () => {
    const dir = await tempDir();
    const s = await Snapshotter.open(dir);
    await s.save(snap(7, 2));
    await expect(s.load(7, 3)).rejects.toThrow();
    await expect(s.load(8, 2)).rejects.toThrow();
  });

  it('keeps the newest snapshot plus 2 older ones', async () => {
    const dir = await tempDir();
    const s = await Snapshotter.open(dir);
    await s.save(snap(10, 1));
    await s.save(snap(20, 1));
    await s.save(snap(30, 2));
    expect(await snapFiles(dir)).toHaveLength(3);
    await s.save(snap(40, 2));
    await s.save(snap(50, 3));
    expect(await snapFiles(dir)).toEqual([Snapshotter.fileName(30, 2), Snapshotter.fileName(40, 2), Snapshotter.fileName(50, 3)]);
    for (const [i, t] of [
      [30, 2],
      [40, 2],
      [50, 3],
    ] as const) {
      expect((await s.load(i, t)).metadata.index).toBe(i);
    }
    await expect(s.load(10, 1)).rejects.toThrow();
  });

  it('pruning orders by index, not by file name (a higher term with a lower index is older)', async () => {
    const dir = await tempDir();
    const s = await Snapshotter.open(dir);
    await s.save(snap(10, 9)); // sorts last by name, but is the oldest
    await s.save(snap(20, 1));
    await s.save(snap(30, 1));
    await s.save(snap(40, 1));
    expect(await snapFiles(dir)).toEqual([Snapshotter.fileName(20, 1), Snapshotter.fileName(30, 1), Snapshotter.fileName(40, 1)]);
  });

  it('pruning leaves database images alone', async () => {
    const dir = await tempDir();
    const s = await Snapshotter.open(dir);
    await s.saveDb(10, 1, chunks('db10'));
    for (const i of [10, 20, 30, 40]) await s.save(snap(i, 1));
    expect(await s.hasDb(10, 1)).toBe(true);
  });

  it('saveDb / readDb / hasDb', async () => {
    const dir = await tempDir();
    const s = await Snapshotter.open(dir);
    expect(await s.hasDb(5, 1)).toBe(false);
    await s.saveDb(5, 1, chunks('hello ', 'backend ', 'image'));
    expect(await s.hasDb(5, 1)).toBe(true);
    expect(await s.hasDb(5, 2)).toBe(false);
    expect(await collect(s.readDb(5, 1))).toBe('hello backend image');
    expect(s.dbPath(5, 1)).toBe(join(dir, `${Snapshotter.fileName(5, 1)}.db`));
    expect((await readdir(dir)).filter((n) => n.endsWith('.incoming'))).toEqual([]);
  });

  it('saveDb of a large image in many chunks', async () => {
    const s = await Snapshotter.open(await tempDir());
    const parts = Array.from({ length: 200 }, (_, i) => String(i).padStart(1000, 'x'));
    await s.saveDb(1, 1, chunks(...parts));
    expect(await collect(s.readDb(1, 1))).toBe(parts.join(''));
  });

  it('a failing source leaves no image', async () => {
    const dir = await tempDir();
    const s = await Snapshotter.open(dir);
    async function* broken(): AsyncIterable<Uint8Array> {
      yield new Uint8Array([1, 2, 3]);
      throw new Error('connection reset');
    }
    await expect(s.saveDb(9, 1, broken())).rejects.toThrow('connection reset');
    expect(await s.hasDb(9, 1)).toBe(false);
    // Reopening sweeps the partial download.
    await Snapshotter.open(dir);
    expect((await readdir(dir)).filter((n) => n.endsWith('.incoming'))).toEqual([]);
  });

  it('removeDbsUpTo deletes images at or below an index, keeps newer ones and .snap files', async () => {
    const dir = await tempDir();
    const s = await Snapshotter.open(dir);
    await s.save(snap(1, 1));
    await s.save(snap(2, 1));
    await s.saveDb(1, 1, chunks('one'));
    await s.saveDb(2, 1, chunks('two'));
    await s.saveDb(3, 2, chunks('three'));
    await s.removeDbsUpTo(2, { keepIndex: true });
    expect(await s.hasDb(1, 1)).toBe(false);
    expect(await s.hasDb(2, 1)).toBe(true);
    // A newer image (a snapshot that arrived while an older one was loading) stays.
    expect(await s.hasDb(3, 2)).toBe(true);
    expect(await snapFiles(dir)).toEqual([Snapshotter.fileName(1, 1), Snapshotter.fileName(2, 1)]);
    expect(await collect(s.readDb(2, 1))).toBe('two');
    await s.removeDbsUpTo(2);
    expect(await s.hasDb(2, 1)).toBe(false);
    expect(await s.hasDb(3, 2)).toBe(true);
  });

  it('readDb of a missing image rejects its consumer', async () => {
    const s = await Snapshotter.open(await tempDir());
    await expect(collect(s.readDb(7, 1))).rejects.toThrow(/ENOENT/);
  });

  it('open removes leftovers of interrupted saves', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, `${Snapshotter.fileName(1, 1)}.tmp`), 'partial');
    await writeFile(join(dir, `${Snapshotter.fileName(1, 1)}.db.incoming`), 'partial');
    await writeFile(join(dir, 'unrelated.txt'), 'keep');
    await Snapshotter.open(dir);
    expect((await readdir(dir)).sort()).toEqual(['unrelated.txt']);
  });
});
