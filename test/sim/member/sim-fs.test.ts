import { raft, wal } from '@kvfleet/server';
import { describe, expect, it } from 'vitest';
import { SimFileSystem } from './sim-fs.js';

const enc = new TextEncoder();
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

async function write(fs: SimFileSystem, path: string, data: string, sync: boolean): Promise<void> {
  const h = await fs.open(path, 'w');
  h.writeAll(enc.encode(data), 0);
  if (sync) await h.datasync();
  await h.close();
}

async function syncDir(fs: SimFileSystem, path: string): Promise<void> {
  const h = await fs.open(path, 'r');
  await h.sync();
  await h.close();
}

describe('SimFileSystem: a crash keeps only what was made durable', () => {
  it('keeps synced data in a synced directory, loses unsynced writes', async () => {
    const fs = new SimFileSystem();
    await fs.mkdir('/d');
    await syncDir(fs, '/');
    await write(fs, '/d/a', 'synced', true);
    await syncDir(fs, '/d');
    const h = await fs.open('/d/a', 'r+');
    h.writeAll(enc.encode('++'), 6);
    fs.crash();
    expect(text(await fs.readFile('/d/a'))).toBe('synced');
  });

  it('loses a synced file whose directory entry was never synced, and a rename not synced', async () => {
    const fs = new SimFileSystem();
    await fs.mkdir('/d');
    await syncDir(fs, '/');
    await write(fs, '/d/old', 'v1', true);
    await syncDir(fs, '/d');
    await write(fs, '/d/lost', 'data', true);
    await fs.rename('/d/old', '/d/new');
    fs.crash();
    expect(await fs.readdir('/d')).toEqual(['old']);
    expect(text(await fs.readFile('/d/old'))).toBe('v1');
  });

  it('can tear the first unsynced write: a prefix of it survives', async () => {
    const fs = new SimFileSystem({ tear: (n) => Math.floor(n / 2) });
    await write(fs, '/f', 'base', true);
    await syncDir(fs, '/');
    const h = await fs.open('/f', 'r+');
    h.writeAll(enc.encode('12345678'), 4);
    fs.crash();
    expect(text(await fs.readFile('/f'))).toBe('base1234');
  });

  it('a directory that was never made durable vanishes with its files', async () => {
    const fs = new SimFileSystem();
    await fs.mkdir('/a/b');
    await write(fs, '/a/b/f', 'x', true);
    await syncDir(fs, '/a/b');
    fs.crash();
    await expect(fs.readdir('/a')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('the WAL on the simulated disk', () => {
  const META = enc.encode('m');
  const entries = (lo: number, hi: number, term: number): raft.Entry[] =>
    Array.from({ length: hi - lo + 1 }, (_, i) => ({ index: lo + i, term, type: raft.EntryType.Normal, data: enc.encode(`e${lo + i}`) }));

  it('keeps every acknowledged save through a crash, and repairs a torn tail', async () => {
    for (const tear of [0, 1, 5, 13]) {
      const fs = new SimFileSystem({ tear: (n) => Math.min(n, tear) });
      const w = await wal.Wal.create('/m/wal', { metadata: META, fs });
      await w.save({ entries: entries(1, 10, 1), hardState: { term: 1, vote: 1, commit: 5 } });
      // Not synced: written at once (a copy into the page cache), lost or torn by the crash.
      const unsynced = w.save({ entries: entries(11, 20, 1), sync: false }).catch((e: unknown) => e);
      await Promise.resolve();
      fs.crash();
      // The crashed process's WAL can no longer touch the disk.
      await unsynced;
      await expect(w.save({ entries: entries(21, 21, 1) })).rejects.toBeDefined();
      const opened = await wal.Wal.open('/m/wal', { fs });
      const indexes = opened.entries.map((e) => e.index);
      expect(indexes.slice(0, 10), `tear ${tear}`).toEqual(entries(1, 10, 1).map((e) => e.index));
      expect(opened.hardState).toEqual({ term: 1, vote: 1, commit: 5 });
      // Whatever survived of the unsynced save is a whole-record prefix of it.
      expect(indexes).toEqual(Array.from({ length: indexes.length }, (_, i) => i + 1));
      // With nothing torn the unsynced records are gone whole; a torn one is cut away on open.
      if (tear === 0) expect(indexes).toHaveLength(10);
      else expect(opened.repaired?.droppedBytes).toBe(tear);
      await opened.wal.close();
    }
  });
});
