import { describe, expect, it } from 'vitest';
import { MEMBER_BUGS, type MemberBug, runMemberSwarm } from './member-swarm.js';

/**
 * Each deliberate member bug is caught within this many seeds from seed 1 (measured: the first
 * failures are seeds 13 for consistent-index-apart, 1 for unsynced-wal, 1 for skip-lease-revoke).
 */
const WITHIN: Record<MemberBug, number> = { 'consistent-index-apart': 20, 'unsynced-wal': 5, 'skip-lease-revoke': 5 };

describe('the whole-member checks catch member bugs', () => {
  for (const bug of Object.keys(MEMBER_BUGS) as MemberBug[]) {
    it(`${bug} within ${WITHIN[bug]} seeds`, async () => {
      let caught: string | undefined;
      for (let seed = 1; seed <= WITHIN[bug] && caught === undefined; seed++) {
        const r = await runMemberSwarm(seed, { bugs: [bug] });
        if (!r.ok) caught = r.violation;
      }
      expect(caught, `${bug} went unnoticed for ${WITHIN[bug]} seeds`).toBeDefined();
    }, 120_000);
  }
});
