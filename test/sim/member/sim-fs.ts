/**
 * A simulated disk for whole-member simulation: the FileSystem seam of packages/server/src/env,
 * in memory, with a crash that keeps only what was made durable, as a power loss does:
 *
 * - a file's data is durable up to its last datasync/sync; writes after it are lost on a crash,
 *   except that the first unsynced write may survive in part (a torn write), if `tear` says so;
 * - a directory's entries (files created, renamed, unlinked) are durable once the directory is
 *   synced (the WAL and the snapshotter sync the directory after a rename, as on Linux);
 * - the size a truncate sets is durable with the next sync of the file;
 * - removing or renaming a directory is durable at once (members never do either; only
 *   snapshot restore, which the simulator does not run, renames one).
 *
 * Paths are plain strings split on '/'; the simulated members each get their own root.
 */
import type { env } from '@kvfleet/server';

type FileHandle = env.FileHandle;
type FileSystem = env.FileSystem;
type OpenMode = env.OpenMode;

interface Inode {
  /** What reads see. */
  data: Uint8Array;
  /** What survives a crash. */
  durable: Uint8Array;
}

interface Dir {
  /** Name → inode (files) or null (a subdirectory, whose own entry map is in `dirs`). */
  entries: Map<string, Inode | null>;
  durableEntries: Map<string, Inode | null>;
}

function notFound(path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, '${path}'`), { code: 'ENOENT' });
}

function split(path: string): { parent: string; name: string } {
  const clean = path.replace(/\/+$/, '');
  const at = clean.lastIndexOf('/');
  return at <= 0 ? { parent: '/', name: clean.slice(at + 1) } : { parent: clean.slice(0, at), name: clean.slice(at + 1) };
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return `/${parts.join('/')}`;
}

export interface SimFsOptions {
  /** On a crash, how many bytes of the first unsynced write of a file survive (default: none). */
  readonly tear?: (unsyncedBytes: number) => number;
}

export class SimFileSystem implements FileSystem {
  private readonly dirs = new Map<string, Dir>([['/', { entries: new Map(), durableEntries: new Map() }]]);
  /** Bytes written since the last sync of each file, in order: what a crash may tear. */
  private readonly unsynced = new Map<Inode, number>();
  /** Counts crashes: a handle opened before the last one belongs to a dead process. */
  private epoch = 0;

  constructor(private readonly options: SimFsOptions = {}) {}

  /**
   * Power loss: every file and directory goes back to what was durable, and every open handle
   * dies with the process that held it (later calls on it fail with ECRASHED).
   */
  crash(): void {
    this.epoch++;
    for (const dir of this.dirs.values()) dir.entries = new Map(dir.durableEntries);
    // Directories whose own entry in the parent was not durable disappear with their contents.
    for (const path of [...this.dirs.keys()].sort((a, b) => a.length - b.length)) {
      if (path === '/') continue;
      const { parent, name } = split(path);
      const p = this.dirs.get(parent);
      if (p === undefined || p.entries.get(name) !== null) this.dirs.delete(path);
    }
    const seen = new Set<Inode>();
    for (const dir of this.dirs.values()) {
      for (const inode of dir.entries.values()) {
        if (inode === null || seen.has(inode)) continue;
        seen.add(inode);
        const kept = this.unsynced.has(inode) ? Math.max(0, Math.min(this.options.tear?.(this.unsynced.get(inode)!) ?? 0, inode.data.length - inode.durable.length)) : 0;
        inode.data = kept > 0 && inode.data.length > inode.durable.length ? inode.data.slice(0, inode.durable.length + kept) : inode.durable.slice();
        inode.durable = inode.data.slice();
      }
    }
    this.unsynced.clear();
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const p = normalize(path);
    if (this.dirs.has(p)) {
      if (mode !== 'r') throw Object.assign(new Error(`EISDIR: '${path}'`), { code: 'EISDIR' });
      return this.dirHandle(p);
    }
    const { parent, name } = split(p);
    const dir = this.dirs.get(parent);
    if (dir === undefined) throw notFound(path);
    let inode = dir.entries.get(name) ?? undefined;
    if (inode === undefined) {
      if (mode !== 'w') throw notFound(path);
      inode = { data: new Uint8Array(0), durable: new Uint8Array(0) };
      dir.entries.set(name, inode);
    } else if (mode === 'w') {
      inode.data = new Uint8Array(0);
      this.unsynced.set(inode, this.unsynced.get(inode) ?? 0);
    }
    return this.fileHandle(inode);
  }

  async readFile(path: string): Promise<Uint8Array> {
    return this.inode(path).data.slice();
  }

  async readdir(path: string): Promise<string[]> {
    const dir = this.dirs.get(normalize(path));
    if (dir === undefined) throw notFound(path);
    return [...dir.entries.keys()].sort();
  }

  async mkdir(path: string): Promise<string | undefined> {
    let first: string | undefined;
    let at = '';
    for (const part of normalize(path).split('/').filter((x) => x !== '')) {
      const parent = at === '' ? '/' : at;
      at = `${at}/${part}`;
      if (this.dirs.has(at)) continue;
      const p = this.dirs.get(parent)!;
      if (p.entries.get(part) !== undefined && p.entries.get(part) !== null) throw Object.assign(new Error(`EEXIST: '${at}'`), { code: 'EEXIST' });
      p.entries.set(part, null);
      this.dirs.set(at, { entries: new Map(), durableEntries: new Map() });
      first ??= at;
    }
    return first;
  }

  async rename(from: string, to: string): Promise<void> {
    const a = split(normalize(from));
    const b = split(normalize(to));
    const src = this.dirs.get(a.parent);
    const dst = this.dirs.get(b.parent);
    const entry = src?.entries.get(a.name);
    if (src === undefined || dst === undefined || entry === undefined) throw notFound(from);
    if (entry === null) {
      // A directory: move its subtree.
      const oldRoot = normalize(from);
      const newRoot = normalize(to);
      for (const path of [...this.dirs.keys()]) {
        if (path === oldRoot || path.startsWith(`${oldRoot}/`)) {
          const d = this.dirs.get(path)!;
          this.dirs.delete(path);
          this.dirs.set(newRoot + path.slice(oldRoot.length), d);
        }
      }
    }
    src.entries.delete(a.name);
    dst.entries.set(b.name, entry);
    if (entry === null) {
      src.durableEntries.delete(a.name);
      dst.durableEntries.set(b.name, null);
    }
  }

  async unlink(path: string): Promise<void> {
    const { parent, name } = split(normalize(path));
    const dir = this.dirs.get(parent);
    if (dir === undefined || dir.entries.get(name) === undefined || dir.entries.get(name) === null) throw notFound(path);
    dir.entries.delete(name);
  }

  async remove(path: string): Promise<void> {
    const p = normalize(path);
    const { parent, name } = split(p);
    const dir = this.dirs.get(parent);
    if (dir === undefined || !dir.entries.has(name)) return;
    const isDir = dir.entries.get(name) === null;
    dir.entries.delete(name);
    if (!isDir) return;
    dir.durableEntries.delete(name);
    for (const d of [...this.dirs.keys()]) if (d === p || d.startsWith(`${p}/`)) this.dirs.delete(d);
  }

  async stat(path: string): Promise<{ size: number; isDirectory: boolean }> {
    const p = normalize(path);
    if (this.dirs.has(p)) return { size: 0, isDirectory: true };
    return { size: this.inode(p).data.length, isDirectory: false };
  }

  private inode(path: string): Inode {
    const { parent, name } = split(normalize(path));
    const entry = this.dirs.get(parent)?.entries.get(name);
    if (entry === undefined || entry === null) throw notFound(path);
    return entry;
  }

  private fileHandle(inode: Inode): FileHandle {
    let open = true;
    const epoch = this.epoch;
    const check = (): void => {
      if (epoch !== this.epoch) throw Object.assign(new Error('ECRASHED: opened before a crash'), { code: 'ECRASHED' });
      if (!open) throw Object.assign(new Error('EBADF: file closed'), { code: 'EBADF' });
    };
    const sync = async (): Promise<void> => {
      check();
      inode.durable = inode.data.slice();
      this.unsynced.delete(inode);
    };
    return {
      writeAll: (data, position) => {
        check();
        const end = position + data.length;
        if (end > inode.data.length) {
          const grown = new Uint8Array(end);
          grown.set(inode.data);
          inode.data = grown;
        }
        inode.data.set(data, position);
        this.unsynced.set(inode, (this.unsynced.get(inode) ?? 0) + data.length);
      },
      read: async (length, position) => {
        check();
        return inode.data.slice(position, Math.min(inode.data.length, position + length));
      },
      truncate: async (length) => {
        check();
        inode.data = inode.data.slice(0, length);
      },
      datasync: sync,
      sync,
      close: async () => {
        open = false;
      },
    };
  }

  private dirHandle(path: string): FileHandle {
    const epoch = this.epoch;
    const sync = async (): Promise<void> => {
      if (epoch !== this.epoch) throw Object.assign(new Error('ECRASHED: opened before a crash'), { code: 'ECRASHED' });
      const dir = this.dirs.get(path);
      if (dir !== undefined) dir.durableEntries = new Map(dir.entries);
    };
    const refuse = (): never => {
      throw Object.assign(new Error(`EISDIR: '${path}'`), { code: 'EISDIR' });
    };
    return { writeAll: refuse, read: async () => refuse(), truncate: async () => refuse(), datasync: sync, sync, close: async () => {} };
  }
}
