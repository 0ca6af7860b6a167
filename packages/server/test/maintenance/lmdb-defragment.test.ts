import { cpSync, existsSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbBackend } from '../../src/backend/lmdb-backend.js';
import { useTempDirs } from '../temp-dirs.js';

const key = (i: number): Uint8Array => Buffer.from(`k${String(i).padStart(6, '0')}`);
const value = (n: number, fill: number): Uint8Array => Buffer.alloc(n, fill);

describe('LmdbBackend.defragment', () => {
  const tempDir = useTempDirs('defrag');
  const opened: LmdbBackend[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((b) => b.close()));
  });
  const openAt = (path: string): LmdbBackend => {
    const b = LmdbBackend.open({ path });
    opened.push(b);
    return b;
  };

  async function filled(path: string): Promise<LmdbBackend> {
    const b = openAt(path);
    for (let batch = 0; batch < 20; batch++) {
      await b.batch((txn) => {
        for (let i = batch * 100; i < (batch + 1) * 100; i++) txn.put('key', key(i), value(2000, i % 251));
      });
    }
    return b;
  }

  it('gives free pages back: sizeBytes drops to about the data after deleting most of it', async () => {
    const path = join(await tempDir(), 'db');
    const b = await filled(path);
    await b.batch((txn) => {
      for (let i = 0; i < 1900; i++) txn.delete('key', key(i));
    });
    const before = b.sizeBytes();
    const hash = await b.hash();
    await b.defragment();
    expect(b.sizeBytes()).toBeLessThan(before / 5);
    expect(await b.hash()).toBe(hash);
    // The store stays at its path: reopening finds the compacted contents, no leftovers beside it.
    await b.close();
    expect(readdirSync(join(path, '..'))).toEqual(['db']);
    const again = openAt(path);
    expect(await again.hash()).toBe(hash);
    expect(again.sizeBytes()).toBeLessThan(before / 5);
  });

  it('keeps writes made while the copy runs and serves reads throughout', async () => {
    const path = join(await tempDir(), 'db');
    const b = await filled(path);
    const defrag = b.defragment();
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      writes.push(b.batch((txn) => txn.put('key', key(i), value(10, 7))));
      writes.push(b.batch((txn) => txn.delete('key', key(1000 + i))));
      const view = b.readTxn();
      expect(view.get('key', key(1500))).toEqual(new Uint8Array(value(2000, 1500 % 251)));
      view.release();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all([defrag, ...writes]);
    const view = b.readTxn();
    try {
      expect(view.get('key', key(3))).toEqual(new Uint8Array(value(10, 7)));
      expect(view.get('key', key(1003))).toBeUndefined();
      expect(view.range('key').length).toBe(2000 - 50);
    } finally {
      view.release();
    }
  });

  it('a read view opened before keeps seeing its point in time until released', async () => {
    const path = join(await tempDir(), 'db');
    const b = await filled(path);
    const view = b.readTxn();
    await b.batch((txn) => txn.delete('key', key(0)));
    await b.defragment();
    expect(view.get('key', key(0))).toBeDefined();
    view.release();
    const fresh = b.readTxn();
    expect(fresh.get('key', key(0))).toBeUndefined();
    fresh.release();
  });

  it('a crash between the two renames is finished on open: the complete copy becomes the store', async () => {
    const dir = await tempDir();
    const path = join(dir, 'db');
    const b = await filled(path);
    const hash = await b.hash();
    await b.close();
    cpSync(path, join(dir, 'db-defrag-1-1'), { recursive: true });
    writeFileSync(join(dir, 'db-defrag-1-1', 'defrag-complete'), '');
    // The state after the first rename: no store directory, a completed copy beside it.
    renameSync(path, join(dir, 'db-old-1-1'));
    const again = openAt(path);
    expect(await again.hash()).toBe(hash);
    expect(readdirSync(dir)).toEqual(['db']);
    expect(existsSync(join(path, 'defrag-complete'))).toBe(false);
  });
});
