// The leader of a 3-member kvfleet cluster is SIGKILLed while 8 writers put unique keys through
// all members, then restarted. Every acknowledged put must survive on every member with its
// value and revision, and the members must agree on revision and HashKV.
import { describe, expect, it } from 'vitest';
import {
  checkConsistency,
  clusterClients,
  duplicateRevisions,
  findLeader,
  seededRandom,
  sleep,
  startWriters,
  suiteSeed,
  waitConverged,
  type MemberClients,
} from '../harness/kv-checks.js';
import { useCluster } from '../harness/use-cluster.js';

const seed = suiteSeed();

describe(`leader SIGKILL under concurrent writes (seed ${seed}; replay with KVFLEET_SEED=${seed})`, () => {
  const cluster = useCluster({ kind: 'kvfleet', size: 3 });

  it('keeps every acknowledged put on every member', async () => {
    const rng = seededRandom(seed);
    const c = cluster();
    const clients: MemberClients[] = clusterClients(c);
    try {
      const writers = startWriters(clients, { prefix: 'w/', count: 8, timeoutMs: 3_000 });
      await sleep(800 + rng.int(700));
      const leader = await findLeader(clients);
      const ackedBeforeKill = writers.stats.acked.length;
      await c.member(leader).kill('SIGKILL');
      await sleep(2_000);
      const restartAt = Date.now();
      await c.restart(leader);
      const restartMs = Date.now() - restartAt;
      // Acknowledged between the kill and the old leader answering again: the survivors elected a leader.
      const ackedWhileDown = writers.stats.acked.length - ackedBeforeKill;
      await sleep(1_000);
      const stats = await writers.stop();
      const newLeader = await findLeader(clients);
      console.log(
        `[leader-kill seed ${seed}] killed member ${leader}; new leader ${newLeader}; ${stats.acked.length} puts acknowledged ` +
          `(${ackedBeforeKill} before the kill, ${ackedWhileDown} while it was down), ${stats.failed} failed; restart took ${restartMs} ms; ` +
          `errors: ${JSON.stringify([...stats.errors])}`,
      );
      expect(ackedBeforeKill, 'writes were acknowledged before the kill').toBeGreaterThan(0);
      expect(ackedWhileDown, 'writes were acknowledged while the old leader was down').toBeGreaterThan(0);
      expect(duplicateRevisions(stats.acked), `seed ${seed}`).toEqual([]);

      const revision = await waitConverged(clients, 30_000);
      const result = await checkConsistency(clients, 'w/', stats.acked);
      expect(result.problems, `seed ${seed}`).toEqual([]);
      expect(result.revision).toBe(revision);
      expect(result.keys).toBeGreaterThanOrEqual(stats.acked.length);
      // A put whose outcome was unknown may have happened, but never more keys than attempts.
      expect(result.keys).toBeLessThanOrEqual(stats.acked.length + stats.failed);
    } finally {
      for (const cl of clients) cl.close();
    }
  }, 90_000);
});
