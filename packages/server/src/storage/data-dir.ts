/**
 * Where a member keeps its state under `--data-dir` (etcd's layout, with LMDB for bbolt):
 *
 *   <data-dir>/member/wal/    Raft log segments (wal/)
 *   <data-dir>/member/snap/   Raft snapshot metadata, received backend images (snap/)
 *   <data-dir>/member/db/     the backend (LMDB environment)
 */
import { join } from 'node:path';
import { type FileSystem, isNotFound } from '../env/file-system.js';

export interface DataDirLayout {
  readonly root: string;
  readonly walDir: string;
  readonly snapDir: string;
  readonly dbDir: string;
}

export function dataDirLayout(root: string): DataDirLayout {
  const member = join(root, 'member');
  return { root, walDir: join(member, 'wal'), snapDir: join(member, 'snap'), dbDir: join(member, 'db') };
}

/** True when the data dir holds a member's log, i.e. the member is restarting rather than new. */
export async function hasExistingMember(fs: FileSystem, layout: DataDirLayout): Promise<boolean> {
  try {
    return (await fs.readdir(layout.walDir)).some((n) => n.endsWith('.wal'));
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}
