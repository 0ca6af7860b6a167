import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../../dist/sim/', import.meta.url));

/** `--members --seed N --trace` in a fresh node process (built JavaScript, as `npm run sim` runs it). */
function traceOf(seed: number, perturb: boolean): string[] {
  const args = [...(perturb ? ['--import', `${DIST}member/perturb-process.js`] : []), `${DIST}cli.js`, '--members', '--seed', String(seed), '--trace'];
  // execFileSync runs node itself (no shell or wrapper) and kills it at the timeout.
  return execFileSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }).split('\n');
}

describe('whole-member simulation determinism', () => {
  it('one seed prints one trace in two processes whose real clock and Math.random differ', () => {
    for (const seed of [7, 28]) {
      const a = traceOf(seed, false);
      const b = traceOf(seed, true);
      // Every request, response and watch event is in the trace, so equal traces mean equal runs.
      expect(a.filter((l) => l.startsWith('op ')).length).toBeGreaterThan(100);
      expect(a.filter((l) => l.startsWith('watch ')).length).toBeGreaterThan(10);
      expect(b).toEqual(a);
    }
  }, 120_000);
});
