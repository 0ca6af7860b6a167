import { describe, expect, it } from 'vitest';
import { runMemberSwarm } from './member-swarm.js';

describe('whole members under crashes, with client traffic through their gRPC handlers', () => {
  it('seeds 1..40: linearizable histories, every member converges on one HashKV', async () => {
    let ok = 0;
    let crashes = 0;
    const mixes = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      const r = await runMemberSwarm(seed);
      expect(r.ok ? 'ok' : r.violation, `seed ${seed}`).toBe('ok');
      if (r.ok) {
        ok += r.stats.ok;
        crashes += r.stats.crashes;
        mixes.add(r.stats.mix);
        expect(r.stats.linearizability, `seed ${seed}: the checker decided`).toBe('ok');
      }
    }
    // Not vacuous: requests succeeded, members crashed, both traffic mixes ran.
    expect(ok).toBeGreaterThan(2000);
    expect(crashes).toBeGreaterThan(20);
    expect(mixes.size).toBe(2);
  }, 300_000);
});
