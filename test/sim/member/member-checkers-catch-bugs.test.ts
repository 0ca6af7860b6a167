import { describe, expect, it } from 'vitest';
import { MEMBER_BUGS, type MemberBug, runMemberSwarm } from './member-swarm.js';

/**
 * Each deliberate member bug is caught within this many seeds from seed 1. Measured on seeds
 * 1..60 at 4f03ea0 (test/sim/REPORT.md): consistent-index-apart in 6 (first at seed 6),
 * unsynced-wal in 35 (first at 1), skip-lease-revoke in 55 (first at 1), watch-skips-compacted
 * in 1 (seed 26: a watcher must fall behind a compaction, which few seeds arrange).
 */
const WITHIN: Record<MemberBug, number> = { 'consistent-index-apart': 10, 'unsynced-wal': 3, 'skip-lease-revoke': 3, 'watch-skips-compacted': 30 };

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
