/**
 * Stores Raft snapshots in a directory: metadata files written atomically (temporary file,
 * fsync, rename, fsync of the directory) so a crash leaves either the old set or the new one,
 * and the backend images that go with received snapshots.
 */
import { join } from 'node:path';
import { type FileSystem, readChunks, writeChunks } from '../env/file-system.js';
import { NODE_FS } from '../env/node-file-system.js';
import type { Snapshot } from '../raft/types.js';
import { defaultSync, makeDurableDirectory, syncDirectory } from '../wal/sync.js';
import { decodeSnapFile, encodeSnapFile } from './snap-file.js';

/** Metadata files kept besides the newest, so an operator can look back a little. */
const KEEP_OLD_SNAP_FILES = 2;

export class Snapshotter {
  private constructor(
    readonly dir: string,
    private readonly fs: FileSystem,
  ) {}

  /** `fs`: the member's file system (env/); the real one by default. */
  static async open(dir: string, fs: FileSystem = NODE_FS): Promise<Snapshotter> {
    await makeDurableDirectory(fs, dir, defaultSync);
    // Leftovers of a save or receive a crash interrupted.
    for (const name of await fs.readdir(dir)) {
      if (name.endsWith('.tmp') || name.endsWith('.incoming')) await fs.remove(join(dir, name));
    }
    return new Snapshotter(dir, fs);
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
    await writeDurably(this.fs, this.dir, name, encodeSnapFile(snap));
    await this.prune(snap.metadata.index);
  }

  /** Reads the snapshot saved at (index, term); throws if it is missing or damaged. */
  async load(index: number, term: number): Promise<Snapshot> {
    const name = Snapshotter.fileName(index, term);
    return decodeSnapFile(await this.fs.readFile(join(this.dir, name)), name);
  }

  /** Writes a backend image durably from `data` under the name for (index, term). */
  async saveDb(index: number, term: number, data: AsyncIterable<Uint8Array>): Promise<void> {
    const final = this.dbPath(index, term);
    const temp = `${final}.incoming`;
    // Written and synced under a temporary name, then renamed: a crash leaves no partial image.
    await writeChunks(this.fs, temp, data);
    await this.fs.rename(temp, final);
    await syncDirectory(this.fs, this.dir, defaultSync);
  }

  /**
   * Streams the backend image for (index, term). The file is opened when iteration starts, so
   * a missing file rejects the consumer instead of erroring a stream nobody listens to yet.
   */
  async *readDb(index: number, term: number): AsyncIterable<Uint8Array> {
    yield* readChunks(this.fs, this.dbPath(index, term));
  }

  async hasDb(index: number, term: number): Promise<boolean> {
    try {
      const h = await this.fs.open(this.dbPath(index, term), 'r');
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
    for (const name of await this.fs.readdir(this.dir)) {
      if (!name.endsWith('.snap.db')) continue;
      const at = parseInt(name.slice(17, 33), 16);
      if (at < index || (at === index && options.keepIndex !== true)) await this.fs.unlink(join(this.dir, name));
    }
  }

  private async prune(newestIndex: number): Promise<void> {
    const metas = (await this.fs.readdir(this.dir)).filter((n) => n.endsWith('.snap')).sort();
    const byIndex = metas
      .map((n) => ({ n, index: parseInt(n.slice(17, 33), 16) }))
      .filter((m) => m.index <= newestIndex)
      .sort((a, b) => a.index - b.index);
    for (const { n } of byIndex.slice(0, Math.max(0, byIndex.length - 1 - KEEP_OLD_SNAP_FILES))) {
      await this.fs.unlink(join(this.dir, n));
    }
  }
}

async function writeDurably(fs: FileSystem, dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dir, `${name}.tmp`);
  await writeChunks(fs, temp, [bytes]);
  await fs.rename(temp, join(dir, name));
  await syncDirectory(fs, dir, defaultSync);
}
