/** The real file system (node:fs), behind the FileSystem seam. */
import { writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, type FileHandle as NodeHandle } from 'node:fs/promises';
import type { FileHandle, FileSystem } from './file-system.js';

function wrap(h: NodeHandle): FileHandle {
  return {
    writeAll(data, position) {
      let done = 0;
      while (done < data.length) {
        const n = writeSync(h.fd, data, done, data.length - done, position + done);
        // A single write may legally write less; never loop forever on no progress.
        if (n <= 0) throw new Error(`write made no progress at offset ${position + done}`);
        done += n;
      }
    },
    async read(length, position) {
      const buf = new Uint8Array(length);
      const { bytesRead } = await h.read(buf, 0, length, position);
      return bytesRead === length ? buf : buf.subarray(0, bytesRead);
    },
    truncate: (length) => h.truncate(length),
    datasync: () => h.datasync(),
    sync: () => h.sync(),
    close: () => h.close(),
  };
}

export const NODE_FS: FileSystem = {
  open: async (path, mode) => wrap(await open(path, mode)),
  readFile: async (path) => new Uint8Array(await readFile(path)),
  readdir: (path) => readdir(path),
  mkdir: (path, options) => mkdir(path, { recursive: true, ...(options?.mode === undefined ? {} : { mode: options.mode }) }),
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  remove: (path) => rm(path, { recursive: true, force: true }),
  stat: async (path) => {
    const s = await stat(path);
    return { size: s.size, isDirectory: s.isDirectory() };
  },
};
