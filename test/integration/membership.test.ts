// Membership changes under write load on a 3-member kvfleet cluster: a learner is added and
// started with --initial-cluster-state existing (it catches up by snapshot and log), promoted
// once in sync, and then the leader is removed. Writers put unique keys through every member
// the whole time; every acknowledged put must be on every remaining member with its value and
// revision, the members must agree on revision and HashKV, and the removed leader must stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { proto } from '@kvfleet/core';
import {
  checkConsistency,
  clusterClients,
  duplicateRevisions,
  findLeader,
  localRevision,
  memberClients,
  sleep,
  startWriters,
  waitConverged,
  type MemberClients,
} from '../harness/kv-checks.js';
import { freePorts } from '../harness/ports.js';
import { cleanEnv, terminate, track } from '../harness/processes.js';
import { useCluster } from '../harness/use-cluster.js';

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${String(last)}`);
    await sleep(200);
  }
}

const hostPort = (url: string) => url.replace(/^http:\/\//, '');

describe('membership changes under concurrent writes (kvfleet, 3 members)', () => {
  // Small snapshots so the new member catches up from a snapshot, then from the log.
  const cluster = useCluster({ kind: 'kvfleet', size: 3, extraArgs: ['--snapshot-count', '200', '--experimental-snapshot-catchup-entries', '50'] });

  it('adding a member and removing the leader keep every acknowledged write', async () => {
    const c = cluster();
    const clients: MemberClients[] = clusterClients(c);
    const admin = proto.createClient('Cluster', hostPort(c.clientUrls[0]!));
    let child: ChildProcess | undefined;
    let logFile = '';
    let learner: MemberClients | undefined;
    try {
      const writers = startWriters(clients, { prefix: 'm/', count: 6, timeoutMs: 3_000 });
      await sleep(1_500);

      // Add a learner and start it from an empty data dir.
      const [clientPort, peerPort] = await freePorts(2);
      const clientUrl = `http://127.0.0.1:${clientPort}`;
      const peerUrl = `http://127.0.0.1:${peerPort}`;
      const added = await eventually('member add', () =>
        proto.unaryCall(admin.MemberAdd.bind(admin), { peerURLs: [peerUrl], isLearner: true }),
      );
      const learnerId = proto.int64ToNumber(added.member!.ID, 'ID');
      expect(added.members).toHaveLength(4);
      const initialCluster = [...c.clientUrls.map((_, i) => `n${i + 1}=${c.member(i).peerUrl}`), `n4=${peerUrl}`].join(',');
      const base = c.member(0).command;
      const dir = join(c.member(0).dataDir, '..', '..', 'n4');
      mkdirSync(dir, { recursive: true });
      const replace: Record<string, string> = {
        '--name': 'n4',
        '--data-dir': join(dir, 'data'),
        '--listen-client-urls': clientUrl,
        '--advertise-client-urls': clientUrl,
        '--listen-peer-urls': peerUrl,
        '--initial-advertise-peer-urls': peerUrl,
        '--initial-cluster': initialCluster,
        '--initial-cluster-state': 'existing',
      };
      const command = base.map((arg, i) => (i > 0 && replace[base[i - 1]!] !== undefined ? replace[base[i - 1]!]! : arg));
      logFile = join(dir, 'output.log');
      const fd = openSync(logFile, 'a');
      child = track(spawn(command[0]!, command.slice(1), { stdio: ['ignore', fd, fd], env: cleanEnv() }));
      closeSync(fd);
      learner = memberClients(clientUrl);
      const l = learner;

      // It catches up while the writes go on; promotion is refused until it is in sync.
      await eventually('the learner to catch up', async () => {
        const [mine, leaders] = await Promise.all([localRevision(l.kv), localRevision(clients[0]!.kv)]);
        return mine > 1 && mine >= leaders - 50 ? true : undefined;
      }, 60_000);
      await eventually('member promote', () => proto.unaryCall(admin.MemberPromote.bind(admin), { ID: learnerId }), 30_000);
      const ackedAfterPromote = writers.stats.acked.length;

      // Remove the leader; the others elect a new one and the writes go on.
      const all = [...clients, l];
      const leader = await findLeader(all);
      const leaderId = proto.int64ToNumber(
        (await proto.unaryCall(all[leader]!.maintenance.Status.bind(all[leader]!.maintenance), {})).header!.memberId,
        'member_id',
      );
      const allUrls = [...c.clientUrls, clientUrl];
      const survivorUrl = allUrls.find((_, i) => i !== leader)!;
      const survivorAdmin = proto.createClient('Cluster', hostPort(survivorUrl));
      try {
        await eventually('member remove of the leader', () =>
          proto.unaryCall(survivorAdmin.MemberRemove.bind(survivorAdmin), { ID: leaderId }),
        );
      } finally {
        survivorAdmin.close();
      }
      const ackedAtRemoval = writers.stats.acked.length;
      // The writes go on. How soon depends on the handoff: when no voter has caught up with the
      // removed leader's log it steps down without a transfer (as etcd-io/raft's StepDownOnRemoval
      // does), the others elect after an election timeout, and a write that was forwarded to the
      // old leader meanwhile is lost with it and waits out its client's 3 s deadline.
      await eventually('writes acknowledged after the removal', () => Promise.resolve(writers.stats.acked.length > ackedAtRemoval + 20 ? true : undefined), 15_000);
      await sleep(1_000);
      const stats = await writers.stop();
      const remaining = all.filter((_, i) => i !== leader);
      console.log(
        `[membership] learner ${learnerId.toString(16)} promoted after ${ackedAfterPromote} acks; removed leader ${leaderId.toString(16)} ` +
          `(member ${leader}); ${stats.acked.length} puts acknowledged (${stats.acked.length - ackedAtRemoval} after the removal), ` +
          `${stats.failed} failed; errors: ${JSON.stringify([...stats.errors])}`,
      );
      expect(stats.acked.length - ackedAtRemoval, 'writes acknowledged after the leader was removed').toBeGreaterThan(0);
      expect(duplicateRevisions(stats.acked)).toEqual([]);

      const revision = await waitConverged(remaining, 30_000);
      const result = await checkConsistency(remaining, 'm/', stats.acked);
      expect(result.problems).toEqual([]);
      expect(result.revision).toBe(revision);
      expect(result.keys).toBeGreaterThanOrEqual(stats.acked.length);
      expect(result.keys).toBeLessThanOrEqual(stats.acked.length + stats.failed);

      const listClient = proto.createClient('Cluster', hostPort(survivorUrl));
      const list = await proto.unaryCall(listClient.MemberList.bind(listClient), { linearizable: true }).finally(() => listClient.close());
      const ids = (list.members ?? []).map((m) => proto.int64ToNumber(m.ID, 'ID'));
      expect(ids).toHaveLength(3);
      expect(ids).not.toContain(leaderId);
      expect(ids).toContain(learnerId);

      // The removed leader stops by itself.
      await eventually('the removed leader to exit', async () => {
        if (leader === 3) return child!.exitCode !== null ? true : undefined;
        return c.member(leader).running ? undefined : true;
      });
    } catch (e) {
      if (logFile !== '') console.error(`--- n4 log\n${readFileSync(logFile, 'utf8').slice(-6000)}`);
      throw e;
    } finally {
      admin.close();
      for (const cl of clients) cl.close();
      learner?.close();
      if (child !== undefined && child.exitCode === null && child.signalCode === null) await terminate(child, 'SIGTERM', 5_000);
    }
  }, 150_000);
});
