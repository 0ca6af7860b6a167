import { describe, expect, it } from 'vitest';
import { runSimulation } from './simulation.js';
import type { SimOverrides } from './swarm.js';

/**
 * Seeds that once failed, each with the bug it found (see docs/simulation.md). They replay
 * exactly, so each one keeps its bug fixed.
 */
const FOUND: { seed: number; options: SimOverrides; bug: string }[] = [
  {
    seed: 1913053018,
    options: {},
    bug: 'a two-voter cluster removed its leader and restarted: nobody could win (issue 24)',
  },
];

describe('seeds that found bugs', () => {
  for (const f of FOUND) {
    it(`seed ${f.seed}${f.options.profile ? ` (${f.options.profile})` : ''}: ${f.bug}`, () => {
      const r = runSimulation(f.seed, f.options);
      expect(r.ok ? 'ok' : r.violation.message).toBe('ok');
    });
  }
});
