import { describe, expect, it } from 'vitest';
import { runMemberSwarm } from './member-swarm.js';

export const MEMBER_SEEDS_IN_NPM_TEST = 300;
export const MEMBER_SWARM_PARTS = 3;

/** One part of the whole-member seeds in npm test, split over test files so that workers share them. */
export function memberSwarmSuitePart(part: number): void {
  const count = MEMBER_SEEDS_IN_NPM_TEST / MEMBER_SWARM_PARTS;
  const first = (part - 1) * count + 1;
  describe('whole members under crashes, with client traffic and watches through their gRPC handlers', () => {
    it(`seeds ${first}..${first + count - 1}: linearizable histories, etcd's watch guarantees, leases, membership changes, one HashKV`, async () => {
      let ok = 0;
      let crashes = 0;
      let watchEvents = 0;
      let membershipChanges = 0;
      let fiveMembers = 0;
      const mixes = new Set<string>();
      const failures: string[] = [];
      for (let seed = first; seed < first + count; seed++) {
        const r = await runMemberSwarm(seed);
        if (!r.ok) {
          failures.push(`seed ${seed}: ${r.violation} (npm run sim -- --members --seed ${seed})`);
          continue;
        }
        if (r.stats.linearizability !== 'ok') failures.push(`seed ${seed}: the linearizability checker did not decide (${r.stats.linearizability})`);
        ok += r.stats.ok;
        crashes += r.stats.crashes;
        watchEvents += r.stats.watchEvents;
        membershipChanges += r.stats.membershipChanges;
        if (r.stats.members === 5) fiveMembers++;
        mixes.add(r.stats.mix);
      }
      expect(failures.join('\n')).toBe('');
      // Not vacuous: requests succeeded, members crashed, watches saw events, both traffic mixes
      // ran, members were added and removed, some clusters had five members.
      expect(ok).toBeGreaterThan(100 * count);
      expect(crashes).toBeGreaterThan(count / 2);
      expect(watchEvents).toBeGreaterThan(50 * count);
      expect(mixes.size).toBe(2);
      expect(membershipChanges).toBeGreaterThan(count / 10);
      expect(fiveMembers).toBeGreaterThan(count / 10);
    }, 600_000);
  });
}
