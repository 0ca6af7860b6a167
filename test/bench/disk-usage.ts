/** Bytes a directory tree holds on disk (allocated blocks, as `du` counts them, not apparent sizes). */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function diskUsageBytes(path: string): Promise<number> {
  const info = await lstat(path);
  if (!info.isDirectory()) return info.blocks * 512;
  let sum = info.blocks * 512;
  for (const entry of await readdir(path)) sum += await diskUsageBytes(join(path, entry));
  return sum;
}
