import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/**
 * Returns a factory of fresh temporary directories named `kvfleet-<prefix>-…`, all removed
 * after each test. Register it before hooks that close what lives in them: vitest runs
 * afterEach hooks in reverse order, so those close first.
 */
export function useTempDirs(prefix: string): () => Promise<string> {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), `kvfleet-${prefix}-`));
    made.push(dir);
    return dir;
  };
}
