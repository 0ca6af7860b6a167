/**
 * The one place the WAL makes data durable. Every fdatasync and directory fsync goes through
 * a `SyncHook`, so tests can count syncs, slow them down, or record what became durable.
 */
import { dirname, resolve } from 'node:path';
import type { FileHandle, FileSystem } from '../env/file-system.js';

/** What a sync must make durable. */
export type SyncTarget =
  /** Data written to a segment file; after the sync its first `bytes` bytes are durable. */
  | { readonly kind: 'segment'; readonly name: string; readonly handle: FileHandle; readonly bytes: number }
  /** A directory whose entries changed (a segment was created, renamed or deleted). */
  | { readonly kind: 'directory'; readonly path: string; readonly handle: FileHandle };

/** Makes `target` durable; resolves only once it is. */
export type SyncHook = (target: SyncTarget) => Promise<void>;

/**
 * The production hook: fdatasync for segment data (file size is included, other metadata is
 * not needed to read the data back), full fsync for directories, whose entries are metadata.
 */
export const defaultSync: SyncHook = (target) =>
  target.kind === 'segment' ? target.handle.datasync() : target.handle.sync();

/** Makes the entries of directory `path` durable through `sync`. */
export async function syncDirectory(fs: FileSystem, path: string, sync: SyncHook): Promise<void> {
  const handle = await fs.open(path, 'r');
  try {
    await sync({ kind: 'directory', path, handle });
  } finally {
    await handle.close();
  }
}

/**
 * mkdir -p that also makes the new directory entries durable: each parent whose entries
 * changed is synced, from the deepest up to the parent of the first directory created. A
 * directory whose own entry was never synced can vanish in a power loss with all it holds.
 */
export async function makeDurableDirectory(fs: FileSystem, dir: string, sync: SyncHook, mode?: number): Promise<void> {
  const created = await fs.mkdir(dir, mode === undefined ? undefined : { mode });
  if (created === undefined) return;
  const top = dirname(resolve(created));
  for (let parent = dirname(resolve(dir)); ; parent = dirname(parent)) {
    await syncDirectory(fs, parent, sync);
    if (parent === top || parent === dirname(parent)) break;
  }
}
