/**
 * Files as a member uses them: the WAL's segments, snapshot files, the data directory. Every
 * read, write and sync goes through this seam, so the simulator can give a member a disk that
 * loses what was not synced when it crashes (see docs/simulation.md). The real one is
 * real-env.ts's NODE_FS.
 */

/** An open file. */
export interface FileHandle {
  /**
   * Writes all of `data` at `position`, synchronously: a record batch is a copy into the page
   * cache, far cheaper than the thread-pool round trip of an async write (the sync stays async).
   */
  writeAll(data: Uint8Array, position: number): void;
  /** Reads up to `length` bytes at `position`; fewer at the end of the file. */
  read(length: number, position: number): Promise<Uint8Array>;
  truncate(length: number): Promise<void>;
  /** fdatasync: the data written so far, and the file's size, are durable. */
  datasync(): Promise<void>;
  /** fsync: data and metadata durable (how a directory's entries are made durable). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** `r` read; `r+` read and write an existing file; `w` create or truncate, then write. */
export type OpenMode = 'r' | 'r+' | 'w';

export interface FileSystem {
  /** Opens a file, or a directory with `r` (to sync its entries). */
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  readFile(path: string): Promise<Uint8Array>;
  /** The names in a directory. */
  readdir(path: string): Promise<string[]>;
  /** mkdir -p; resolves with the first directory it created, or undefined if all existed. */
  mkdir(path: string, options?: { readonly mode?: number }): Promise<string | undefined>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** rm -rf: a missing path is not an error. */
  remove(path: string): Promise<void>;
  stat(path: string): Promise<{ readonly size: number; readonly isDirectory: boolean }>;
}

/** Whether `e` says the file or directory does not exist (ENOENT). */
export function isNotFound(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'ENOENT';
}

/** The bytes of `path` from `start` to `end` (exclusive; default the end of the file), in chunks. */
export async function* readChunks(fs: FileSystem, path: string, options: { start?: number; end?: number; chunkBytes?: number } = {}): AsyncGenerator<Uint8Array> {
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  const handle = await fs.open(path, 'r');
  try {
    const end = options.end ?? (await fs.stat(path)).size;
    for (let at = options.start ?? 0; at < end; ) {
      const chunk = await handle.read(Math.min(chunkBytes, end - at), at);
      if (chunk.length === 0) break;
      yield chunk;
      at += chunk.length;
    }
  } finally {
    await handle.close();
  }
}

/** Writes `chunks` to a new file at `path` (replacing one there), synced before it resolves. */
export async function writeChunks(fs: FileSystem, path: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
  const handle = await fs.open(path, 'w');
  try {
    let at = 0;
    for await (const chunk of chunks) {
      handle.writeAll(chunk, at);
      at += chunk.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}
