/**
 * The one place the WAL makes data durable. Every fdatasync and directory fsync goes through
 * a `SyncHook`, so tests can count syncs, slow them down, or record what became durable.
 */
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
