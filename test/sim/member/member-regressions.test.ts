import { describe, expect, it } from 'vitest';
import { runMemberSwarm } from './member-swarm.js';

/** Whole-member seeds that once failed, each with what it found (docs/simulation.md, test/sim/REPORT.md). */
const SEEDS: Record<number, string> = {
  290578005: 'with all three founders replaced, a watch had nowhere to resume (the driver keeps two)',
  395839622: "a leaderless member exited, trusting a peer's member list that lacked its addition",
  2058598539: 'a joiner failed to start on a peer that had not applied its MemberAdd yet',
  1719021547: 'a restarted member whose WAL lost its tail could not answer a leader added after what it applied',
};

describe('whole-member seeds that once failed', () => {
  for (const [seed, what] of Object.entries(SEEDS)) {
    it(`seed ${seed}: ${what}`, async () => {
      const r = await runMemberSwarm(Number(seed), {});
      expect(r.ok ? 'ok' : r.violation).toBe('ok');
    }, 60_000);
  }
});
