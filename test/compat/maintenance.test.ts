// etcdctl 3.4's maintenance commands against etcd 3.4 and kvfleet: the space quota and its
// NOSPACE alarm (alarm list / disarm), defrag, endpoint hashkv, move-leader, and snapshot save
// then restore into a new 3-member cluster that serves the same data. Expectations are etcd
// 3.4.23's real answers. Per-endpoint commands get host:port endpoints (docs/compatibility.md).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, serverCommand, type ClusterKind } from '../harness/cluster.js';
import { runCommand } from '../harness/command.js';
import { etcdctl, etcdctlError, etcdctlOk } from '../harness/etcdctl.js';
import { b64, parseEtcdJson } from '../harness/etcd-json.js';
import { freePorts } from '../harness/ports.js';
import { waitUntilServing } from '../harness/probe.js';
import { cleanEnv, terminate, track } from '../harness/processes.js';
import { INSTALL_HINTS, requireBinary } from '../harness/requirements.js';
import { compatTargets } from '../harness/targets.js';
import { useCluster } from '../harness/use-cluster.js';

const haveEtcdctl = requireBinary('etcdctl', INSTALL_HINTS.etcdctl);
const hostPort = (url: string): string => new URL(url).host;
/** etcd 3.4 has no lower bound on the quota; 1 MiB fills after a few 100 KB values. */
const QUOTA = 1024 * 1024;
const NOSPACE = 'Error: etcdserver: mvcc: database space exceeded';

interface EndpointStatus {
  Endpoint: string;
  Status: { header: { member_id: string | number; revision: number }; leader: string | number; dbSize: number; errors?: string[] };
}

async function statuses(endpoints: string[]): Promise<EndpointStatus[]> {
  return parseEtcdJson<EndpointStatus[]>(await etcdctlOk(endpoints, ['endpoint', 'status', '-w', 'json']));
}

const hex = (id: string | number): string => BigInt(id).toString(16);

for (const target of compatTargets()) {
  describe.skipIf(!target.enabled || !haveEtcdctl)(`etcdctl 3.4 maintenance against ${target.kind}: quota and alarms`, () => {
    const cluster = useCluster({ kind: target.kind, size: 1, extraArgs: ['--quota-backend-bytes', String(QUOTA)] });
    const ep = () => [hostPort(cluster().clientUrls[0]!)];

    it('a full backend raises NOSPACE; deletes, compaction and defrag still work; disarm clears it', async () => {
      const big = 'x'.repeat(100_000);
      let written = 0;
      let failure: string | undefined;
      for (let i = 0; i < 40 && failure === undefined; i++) {
        const r = await etcdctl(ep(), ['put', `q/${i}`, big]);
        if (r.code === 0) written++;
        else failure = etcdctlError(r.stderr);
      }
      expect(failure).toBe(NOSPACE);
      expect(written).toBeGreaterThan(3);

      const [status] = await statuses(ep());
      const memberId = BigInt(status!.Status.header.member_id).toString();
      const alarmLine = `memberID:${memberId} alarm:NOSPACE \n`;
      expect(await etcdctlOk(ep(), ['alarm', 'list'])).toBe(alarmLine);
      expect(status!.Status.errors).toEqual([`memberID:${memberId} alarm:NOSPACE `]);

      // Writes that grow the store are refused; a txn that puts nothing and deletes are not.
      expect(etcdctlError((await etcdctl(ep(), ['put', 'q/small', 'v'])).stderr)).toBe(NOSPACE);
      expect(etcdctlError((await etcdctl(ep(), ['lease', 'grant', '100'])).stderr)).toBe(
        'Error: failed to grant lease (etcdserver: mvcc: database space exceeded)',
      );
      expect(await etcdctlOk(ep(), ['txn'], { input: '\n\n\n' })).toBe('SUCCESS\n');
      // The write that crossed the quota at apply time is stored although its client heard NOSPACE (as in etcd).
      const deleted = Number(await etcdctlOk(ep(), ['del', 'q/', '--prefix']));
      expect(deleted).toBeGreaterThanOrEqual(written);
      expect(deleted).toBeLessThanOrEqual(written + 1);
      const revision = parseEtcdJson(await etcdctlOk(ep(), ['get', 'q/', '-w', 'json'])).header.revision as number;
      expect(await etcdctlOk(ep(), ['compact', String(revision)])).toBe(`compacted revision ${revision}\n`);
      expect(await etcdctlOk(ep(), ['defrag'])).toBe(`Finished defragmenting etcd member[${ep()[0]}]\n`);
      const [after] = await statuses(ep());
      expect(after!.Status.dbSize).toBeLessThan(status!.Status.dbSize / 4);

      // The alarm outlives the space it was raised for, until disarmed.
      expect(etcdctlError((await etcdctl(ep(), ['put', 'q/small', 'v'])).stderr)).toBe(NOSPACE);
      expect(await etcdctlOk(ep(), ['alarm', 'disarm'])).toBe(alarmLine);
      expect(await etcdctlOk(ep(), ['alarm', 'list'])).toBe('');
      expect(await etcdctlOk(ep(), ['alarm', 'disarm'])).toBe('');
      expect(await etcdctlOk(ep(), ['put', 'q/small', 'v'])).toBe('OK\n');
      const [cleared] = await statuses(ep());
      expect(cleared!.Status.errors ?? []).toEqual([]);
    });
  });

  describe.skipIf(!target.enabled || !haveEtcdctl)(`etcdctl 3.4 maintenance against ${target.kind}: a 3-member cluster`, () => {
    const cluster = useCluster({ kind: target.kind, size: 3 });
    const eps = () => cluster().clientUrls.map(hostPort);
    const restoreRoots: string[] = [];
    const restored: ChildProcess[] = [];
    afterAll(async () => {
      for (const child of restored) await terminate(child, 'SIGTERM', 5_000);
      for (const dir of restoreRoots) await rm(dir, { recursive: true, force: true });
    }, 60_000);

    it('endpoint hashkv: every member has the same hash; defrag runs on each member', async () => {
      for (let i = 0; i < 20; i++) await etcdctlOk(cluster().clientUrls, ['put', `h/${i}`, `v${i}`]);
      await etcdctlOk(cluster().clientUrls, ['del', 'h/1']);
      // A write through each member makes sure each has applied everything before hashing.
      for (const e of eps()) await etcdctlOk([e], ['get', 'h/0']);
      const lines = (await etcdctlOk(eps(), ['endpoint', 'hashkv'])).trim().split('\n');
      expect(lines.map((l) => l.split(', ')[0])).toEqual(eps());
      const hashes = new Set(lines.map((l) => l.split(', ')[1]));
      expect(hashes.size).toBe(1);
      const defrag = await etcdctlOk(eps(), ['defrag']);
      expect(defrag).toBe(eps().map((e) => `Finished defragmenting etcd member[${e}]\n`).join(''));
    });

    it('move-leader hands leadership to a follower; a non-member is a bad leader transferee', async () => {
      const before = await statuses(eps());
      const leader = hex(before[0]!.Status.leader);
      const follower = before.map((s) => hex(s.Status.header.member_id)).find((id) => id !== leader)!;
      expect(await etcdctlOk(eps(), ['move-leader', follower])).toBe(`Leadership transferred from ${leader} to ${follower}\n`);
      const after = await statuses(eps());
      for (const s of after) expect(hex(s.Status.leader)).toBe(follower);
      const bad = await etcdctl(eps(), ['move-leader', '1234']);
      expect(bad.code).not.toBe(0);
      expect(etcdctlError(bad.stderr)).toBe('Error: etcdserver: bad leader transferee');
    });

    it('snapshot save, then restore into a new 3-member cluster that serves the same data', async () => {
      const ctl = (args: string[]) => etcdctlOk(cluster().clientUrls, args);
      for (let i = 0; i < 30; i++) await ctl(['put', `s/${String(i).padStart(2, '0')}`, `value-${i}`]);
      await ctl(['del', 's/05']);
      const lease = /^lease ([0-9a-f]+) granted/.exec(await ctl(['lease', 'grant', '3600']))![1]!;
      await ctl(['put', 's/leased', 'L', '--lease', lease]);
      const expected = parseEtcdJson(await ctl(['get', 's/', '--prefix', '-w', 'json']));

      const root = await mkdtemp(join(tmpdir(), `kvfleet-compat-restore-${target.kind}-`));
      restoreRoots.push(root);
      const file = join(root, 'snapshot.db');
      const saved = await etcdctl([eps()[0]!], ['snapshot', 'save', file]);
      expect(saved.code, saved.stderr).toBe(0);
      expect(saved.stdout).toBe(`Snapshot saved at ${file}\n`);
      // The stream ends with the sha256 of everything before it.
      const bytes = readFileSync(file);
      expect(createHash('sha256').update(bytes.subarray(0, -32)).digest().equals(bytes.subarray(-32))).toBe(true);

      const ports = await freePorts(6);
      const names = ['r1', 'r2', 'r3'];
      const client = names.map((_, i) => `http://127.0.0.1:${ports[2 * i]}`);
      const peer = names.map((_, i) => `http://127.0.0.1:${ports[2 * i + 1]}`);
      const initialCluster = names.map((n, i) => `${n}=${peer[i]}`).join(',');
      const token = `restored-${process.pid}`;
      for (const [i, name] of names.entries()) {
        const flags = ['--name', name, '--data-dir', join(root, name), '--initial-cluster', initialCluster, '--initial-cluster-token', token, '--initial-advertise-peer-urls', peer[i]!];
        const r = await restoreCommand(target.kind, file, flags);
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      }
      for (const [i, name] of names.entries()) {
        restored.push(
          startMember(target.kind, join(root, `${name}.log`), [
            '--name', name, '--data-dir', join(root, name),
            '--listen-client-urls', client[i]!, '--advertise-client-urls', client[i]!,
            '--listen-peer-urls', peer[i]!, '--initial-advertise-peer-urls', peer[i]!,
            '--initial-cluster', initialCluster, '--initial-cluster-token', token,
          ]),
        );
      }
      try {
        await Promise.all(client.map((u) => waitUntilServing(u, 30_000)));
      } catch (e) {
        throw new Error(`${(e as Error).message}\n${names.map((n) => readFileSync(join(root, `${n}.log`), 'utf8').slice(-3000)).join('\n----\n')}`);
      }
      for (const url of client) {
        const got = parseEtcdJson(await etcdctlOk([url], ['get', 's/', '--prefix', '-w', 'json']));
        expect(got.kvs.map((kv: { key: string; value: string }) => [b64(kv.key), b64(kv.value)])).toEqual(
          expected.kvs.map((kv: { key: string; value: string }) => [b64(kv.key), b64(kv.value)]),
        );
        expect(got.kvs.map((kv: { mod_revision: number }) => kv.mod_revision)).toEqual(expected.kvs.map((kv: { mod_revision: number }) => kv.mod_revision));
      }
      // A new cluster: new members from the flags, the leases kept.
      const members = (await etcdctlOk(client, ['member', 'list'])).trim().split('\n');
      expect(members.map((l) => l.split(', ')[2]).sort()).toEqual(names);
      expect(await etcdctlOk(client, ['lease', 'list'])).toContain(lease);
      expect(await etcdctlOk(client, ['put', 's/new', 'after-restore'])).toBe('OK\n');
    });
  });
}

/** etcdctl snapshot restore for etcd, kvfleet snapshot restore for kvfleet; the same flags. */
function restoreCommand(kind: ClusterKind, file: string, flags: string[]) {
  if (kind === 'etcd') {
    return runCommand(process.env.KVFLEET_ETCDCTL ?? 'etcdctl', ['snapshot', 'restore', file, ...flags], { env: cleanEnv({ ETCDCTL_API: '3' }) });
  }
  return runCommand(process.execPath, [join(repoRoot(), 'cmd', 'bin', 'kvfleet.js'), 'snapshot', 'restore', file, ...flags], { env: cleanEnv() });
}

function startMember(kind: ClusterKind, logFile: string, flags: string[]): ChildProcess {
  const [exe, ...base] = serverCommand(kind);
  mkdirSync(join(logFile, '..'), { recursive: true });
  const fd = openSync(logFile, 'a');
  try {
    return track(spawn(exe!, [...base, ...flags], { stdio: ['ignore', fd, fd], env: cleanEnv() }));
  } finally {
    closeSync(fd);
  }
}
