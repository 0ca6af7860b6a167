// Seeded crash/restart rounds on a 3-member kvfleet cluster. Each round runs writers, SIGKILLs
// one member (a follower or the leader), two members one after the other, or all three, at a
// random moment; in half the rounds it also tears the tail of one killed member's newest WAL
// segment while the member is stopped, then restarts everyone with the writers still running.
// After each round every acknowledged put so far must be on every member with its value and
// revision, and the members must agree on revision, data and HashKV.
//
// Torn tails (see TearMode in ../harness/kv-checks.ts): 'partial-next-record' and 'zero-fill'
// are what a crash during a write leaves (bytes of a record that was never synced, so never
// acknowledged); 'cut-last-record' cuts bytes from the last complete record, which may already
// have been synced and acknowledged to the leader: stronger than a real torn write. So only one
// member's tail is ever torn, and it is restarted after the others: with two intact logs and a
// leader elected among them first, every committed entry is still held by a member that can win
// an election, so no acknowledged write may be lost. (The torn member may then have acknowledged
// entries the leader believes it holds; Raft rejects heartbeats committing past its log, etcd
// panics there, kvfleet drops them and is repaired by the next append — which the writers that
// keep running during restarts provide.) A member that fails to start after a torn tail is a bug:
// the WAL truncates torn tails on open.
import { describe, expect, it } from 'vitest';
import type { RandomSource } from '@kvfleet/core';
import {
  checkConsistency,
  clusterClients,
  findLeader,
  logSinceLastStart,
  seededRandom,
  sleep,
  startWriters,
  suiteSeed,
  tearWalTail,
  waitConverged,
  type Ack,
  type MemberClients,
  type TearMode,
  type TornTail,
  type WriterStats,
} from '../harness/kv-checks.js';
import { useCluster } from '../harness/use-cluster.js';

const seed = suiteSeed();
const ROUNDS = Number(process.env.KVFLEET_CRASH_ROUNDS ?? 8);
/** `--backend` of the members: lmdb (the default) or memory. */
const BACKEND = process.env.KVFLEET_CRASH_BACKEND ?? 'lmdb';
/**
 * KVFLEET_CRASH_IDLE_RESTART=1 stops the writers before the restarts instead of after: then a
 * member whose 'cut-last-record' removed an entry it had acknowledged gets no append to repair
 * its log, only heartbeats it must reject (see above), and may never become healthy.
 */
const IDLE_RESTART = process.env.KVFLEET_CRASH_IDLE_RESTART === '1';

type Scenario = 'follower' | 'leader' | 'two' | 'all';

function shuffle<T>(items: T[], rng: RandomSource): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

describe(`crash/restart rounds with torn WAL tails (--backend ${BACKEND}; seed ${seed}; replay with KVFLEET_SEED=${seed})`, () => {
  const cluster = useCluster({
    kind: 'kvfleet',
    size: 3,
    // Small snapshot intervals so crashes also hit snapshot saves and WAL segment release.
    extraArgs: ['--snapshot-count', '400', '--experimental-snapshot-catchup-entries', '100', '--backend', BACKEND],
  });

  it(`${ROUNDS} rounds keep every acknowledged put on every member`, async () => {
    const rng = seededRandom(seed);
    const c = cluster();
    const clients: MemberClients[] = clusterClients(c);
    const acked: Ack[] = [];
    const base: Scenario[] = ['leader', 'follower', 'two', 'all'];
    const scenarios = shuffle(Array.from({ length: ROUNDS }, (_, i) => base[i % base.length]!), rng);
    const tears = shuffle(Array.from({ length: ROUNDS }, (_, i) => i % 2 === 0), rng);
    const summary: string[] = [];
    let round = -1;
    let step = 'starting';
    let writers: ReturnType<typeof startWriters> | undefined;
    try {
      for (round = 0; round < ROUNDS; round++) {
        const r = rng.fork();
        const roundAt = Date.now();
        const scenario = scenarios[round]!;
        step = 'finding the leader';
        const leader = await findLeader(clients);
        step = 'writing';
        writers = startWriters(clients, { prefix: `c/r${round}/`, count: 6, timeoutMs: 2_000, pauseAfterErrorMs: 50 });
        await sleep(300 + r.int(900));

        // Kill.
        let victims: number[];
        if (scenario === 'leader') victims = [leader];
        else if (scenario === 'follower') victims = [r.pick([0, 1, 2].filter((i) => i !== leader))];
        else if (scenario === 'two') victims = shuffle([0, 1, 2], r).slice(0, 2);
        else victims = shuffle([0, 1, 2], r);
        step = `killing ${victims.join(',')}`;
        for (const [k, v] of victims.entries()) {
          if (k > 0) await sleep(r.int(scenario === 'all' ? 300 : 800));
          await c.member(v).kill('SIGKILL');
        }
        await sleep(200 + r.int(700));

        // Tear one killed member's WAL tail.
        let torn: { member: number; tail: TornTail } | undefined;
        if (tears[round]) {
          const member = r.pick(victims);
          const mode: TearMode = r.chance(0.5) ? 'cut-last-record' : r.pick(['partial-next-record', 'zero-fill'] as const);
          step = `tearing the WAL tail of member ${member} (${mode})`;
          const tail = await tearWalTail(c.member(member).dataDir, r, mode);
          if (tail !== undefined) torn = { member, tail };
        }

        let stats: WriterStats | undefined;
        if (IDLE_RESTART) {
          step = 'stopping writers';
          stats = await writers.stop();
          writers = undefined;
        }

        // Restart, the writers still running: intact members first (together, so they can form
        // a quorum and elect a leader), the torn one last.
        const restartAt = Date.now();
        const intact = victims.filter((v) => v !== torn?.member);
        step = `restarting ${intact.join(',')}`;
        await Promise.all(intact.map((v) => c.restart(v)));
        if (torn !== undefined) {
          step = `restarting member ${torn.member} after its torn WAL tail (${JSON.stringify(torn.tail)})`;
          await c.restart(torn.member);
          expect(logSinceLastStart(c, torn.member), `round ${round}: member ${torn.member} should report the repair`).toContain(
            'repaired a torn WAL tail',
          );
        }
        const restartMs = Date.now() - restartAt;
        await sleep(200 + r.int(300));
        if (stats === undefined) {
          step = 'stopping writers';
          stats = await writers!.stop();
          writers = undefined;
        }
        acked.push(...stats.acked);

        step = 'waiting for the members to converge';
        const revision = await waitConverged(clients, 30_000);
        step = 'checking';
        const result = await checkConsistency(clients, 'c/', acked);
        const line =
          `round ${round}: ${scenario} (killed ${victims.join(',')}, leader was ${leader})` +
          `${torn ? `, ${torn.tail.mode} on member ${torn.member}'s ${torn.tail.segment} (${torn.tail.sizeBefore} -> ${torn.tail.sizeAfter} bytes)` : ''}; ` +
          `restarts took ${restartMs} ms, round ${Date.now() - roundAt} ms; ` +
          `${stats.acked.length} acked, ${stats.failed} failed; revision ${revision}, ${result.keys} keys, ${acked.length} acked in all`;
        summary.push(line);
        console.log(`[crash-safety seed ${seed}] ${line}`);
        expect(result.problems, `seed ${seed} round ${round}: ${line}`).toEqual([]);
        expect(result.keys).toBeGreaterThanOrEqual(acked.length);
      }
      expect(acked.length).toBeGreaterThan(0);
    } catch (error) {
      (error as Error).message = `[seed ${seed}, round ${round}, while ${step}] ${(error as Error).message}\nrounds so far:\n${summary.join('\n')}`;
      throw error;
    } finally {
      await writers?.stop();
      for (const cl of clients) cl.close();
    }
  }, 170_000);
});
