/**
 * `npm run bench -- --baseline REV`: an earlier commit of kvfleet, built in its own directory,
 * measured in the same run as this checkout (same machine, same load generator), so a change
 * can be shown not to cost speed. The build is kept in the temp dir and reused while REV's
 * tree is the same.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../harness/cluster.js';

/** The directory holding REV's tree, built (`npm ci` runs the build), and REV's short hash. */
export function prepareBaseline(rev: string): { root: string; commit: string } {
  const parsed = spawnSync('git', ['rev-parse', '--short', `${rev}^{commit}`], { cwd: repoRoot(), encoding: 'utf8' });
  const commit = parsed.stdout.trim();
  if (parsed.status !== 0 || commit === '') throw new Error(`--baseline ${rev}: not a commit of this repository (${parsed.stderr.trim()})`);
  const root = join(tmpdir(), `kvfleet-baseline-${commit}`);
  const ready = join(root, '.baseline-built');
  if (existsSync(ready)) return { root, commit };
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  process.stdout.write(`building the baseline ${commit} in ${root}\n`);
  const tarball = join(root, '.baseline.tar');
  const steps: [string, string[], string][] = [
    ['git', ['archive', '--output', tarball, commit], repoRoot()],
    ['tar', ['-xf', tarball, '-C', root], root],
    ['npm', ['ci', '--no-audit', '--no-fund'], root],
  ];
  for (const [exe, args, cwd] of steps) {
    const out = spawnSync(exe, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    if (out.status !== 0) throw new Error(`--baseline ${rev}: ${exe} ${args.join(' ')} failed (exit ${out.status})`);
  }
  if (!existsSync(join(root, 'cmd', 'dist'))) throw new Error(`--baseline ${rev}: the build left no cmd/dist`);
  writeFileSync(ready, `${commit}\n`);
  return { root, commit };
}
