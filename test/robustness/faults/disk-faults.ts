/**
 * A full disk: one member's whole directory lives on its own small tmpfs, and the fault fills it
 * with a filler file until ENOSPC, holds it full for a while, then frees it. The member may fail
 * its next WAL save or backend commit (and exit, as etcd does) or ride it out; either way it is
 * restarted if it died and must catch up without losing anything. Mounting needs root (as in
 * CI); elsewhere the scenarios that use it are skipped with that reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cluster } from '../../harness/cluster.js';
import { sleep } from '../../harness/kv-checks.js';

export const DISK_FAULTS = ['disk-full'] as const;
export type DiskFault = (typeof DISK_FAULTS)[number];

export function isDiskFault(fault: string): fault is DiskFault {
  return (DISK_FAULTS as readonly string[]).includes(fault);
}

/** The member whose directory is the small tmpfs. */
export const DISK_FULL_MEMBER = 2;
const TMPFS_SIZE = '256m';

/** Why tmpfs mounts are impossible here, or undefined when they work. */
export function diskFaultsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux tmpfs';
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs (CI runs as root)';
  return undefined;
}

export class SmallDisk {
  private constructor(readonly dir: string) {}

  /** Mounts a tmpfs at `<dataRoot>/n<member + 1>` (the member's directory in the cluster harness). */
  static mount(dataRoot: string, member = DISK_FULL_MEMBER): SmallDisk {
    const dir = join(dataRoot, `n${member + 1}`);
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'tmpfs', dir]);
    return new SmallDisk(dir);
  }

  unmount(): void {
    try {
      execFileSync('umount', ['-l', this.dir]);
    } catch {
      // already gone
    }
  }

  /** Fills the disk, holds it full for `holdMs`, frees it; restarts the member if it died. */
  async fill(cluster: Cluster, holdMs: number): Promise<string> {
    const filler = join(this.dir, 'filler');
    const f = await open(filler, 'w');
    const chunk = Buffer.alloc(4 * 1024 * 1024);
    let written = 0;
    try {
      for (;;) {
        await f.write(chunk);
        written += chunk.length;
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
    } finally {
      await f.close();
    }
    await sleep(holdMs);
    await rm(filler, { force: true });
    const m = cluster.member(DISK_FULL_MEMBER);
    const died = !m.running;
    if (died) await cluster.restart(DISK_FULL_MEMBER);
    await cluster.waitHealthy(DISK_FULL_MEMBER);
    return `member ${DISK_FULL_MEMBER}'s disk full (${Math.round(written / 2 ** 20)} MiB of filler) for ${holdMs} ms${died ? '; it exited and was restarted' : '; it rode it out'}`;
  }
}
