import { describe, expect, it } from 'vitest';
import { runMemberSwarm } from './member-swarm.js';

describe('whole members under crashes (first swarm)', () => {
  it('every acknowledged write survives on every member, and they agree (HashKV)', async () => {
    let acked = 0;
    let crashes = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const r = await runMemberSwarm(seed);
      expect(r.ok ? 'ok' : r.violation, `seed ${seed}`).toBe('ok');
      if (r.ok) {
        acked += r.stats.acked;
        crashes += r.stats.crashes;
      }
    }
    // Not vacuous: writes were acknowledged and members crashed.
    expect(acked).toBeGreaterThan(100);
    expect(crashes).toBeGreaterThan(3);
  }, 120_000);
});
