/**
 * Stores Raft snapshots in a directory: metadata files written atomically (temporary file,
 * fsync, rename, fsync of the directory) so a crash leaves either the old set or the new one,
 * and the backend images that go with received snapshots.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Snapshot } from '../raft/types.js';
import { defaultSync, syncDirectory } from '../wal/sync.js';
import { decodeSnapFile, encodeSnapFile } from './snap-file.js';

/** Metadata files kept besides the newest, so an operator can look back a little. */
const KEEP_OLD_SNAP_FILES = 2;

export class Snapshotter {
  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<Snapshotter> {
    await mkdir(dir, { recursive: true });
    // Leftovers of a save or receive a crash interrupted.
    for (const name of await readdir(dir)) {
      if (name.endsWith('.tmp') || name.endsWith('.incoming')) await rm(join(dir, name), { force: true });
    }
    return new Snapshotter(dir);
  }

  static fileName(index: number, term: number): string {
    return `${term.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}.snap`;
  }

  /** The path of the backend image that goes with the snapshot at (index, term). */
  dbPath(index: number, term: number): string {
    return join(this.dir, `${Snapshotter.fileName(index, term)}.db`);
  }

  /** Writes the metadata of `snap` durably. */
  async save(snap: Snapshot): Promise<void> {
    const name = Snapshotter.fileName(snap.metadata.index, snap.metadata.term);
    await writeDurably(this.dir, name, encodeSnapFile(snap));
    await this.prune(snap.metadata.index);
  }

  /** Reads the snapshot saved at (index, term); throws if it is missing or damaged. */
  async load(index: number, term: number): Promise<Snapshot> {
    const name = Snapshotter.fileName(index, term);
    return decodeSnapFile(await readFile(join(this.dir, name)), name);
  }

  /** Writes a backend image durably from `data` under the name for (index, term). */
  async saveDb(index: number, term: number, data: AsyncIterable<Uint8Array>): Promise<void> {
    const final = this.dbPath(index, term);
    const temp = `${final}.incoming`;
    await pipeline(data, createWriteStream(temp));
    await fsyncFile(temp);
    await rename(temp, final);
    await syncDirectory(this.dir, defaultSync);
  }

  /**
   * Streams the backend image for (index, term). The file is opened when iteration starts, so
   * a missing file rejects the consumer instead of erroring a stream nobody listens to yet.
   */
  async *readDb(index: number, term: number): AsyncIterable<Uint8Array> {
    yield* createReadStream(this.dbPath(index, term)) as AsyncIterable<Uint8Array>;
  }

  async hasDb(index: number, term: number): Promise<boolean> {
    try {
      const h = await open(this.dbPath(index, term), 'r');
      await h.close();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Deletes the backend images of snapshots at or below `index` (below it with `keepIndex`):
   * once one is loaded, older ones are useless. Newer ones stay: a later snapshot may have
   * arrived while this one was being loaded, and is loaded next.
   */
  async removeDbsUpTo(index: number, options: { keepIndex?: boolean } = {}): Promise<void> {
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith('.snap.db')) continue;
      const at = parseInt(name.slice(17, 33), 16);
      if (at < index || (at === index && options.keepIndex !== true)) await unlink(join(this.dir, name));
    }
  }

  private async prune(newestIndex: number): Promise<void> {
    const metas = (await readdir(this.dir)).filter((n) => n.endsWith('.snap')).sort();
    const byIndex = metas
      .map((n) => ({ n, index: parseInt(n.slice(17, 33), 16) }))
      .filter((m) => m.index <= newestIndex)
      .sort((a, b) => a.index - b.index);
    for (const { n } of byIndex.slice(0, Math.max(0, byIndex.length - 1 - KEEP_OLD_SNAP_FILES))) {
      await unlink(join(this.dir, n));
    }
  }
}

async function writeDurably(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dir, `${name}.tmp`);
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, join(dir, name));
  await syncDirectory(dir, defaultSync);
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
