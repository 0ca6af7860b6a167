// etcdctl 3.4 against a single member: watch (live, from a past revision, prefix, prev-kv,
// json, compacted) and leases (grant, list, timetolive, keep-alive, revoke, expiry, put --lease).
// Expectations are etcd 3.4's real answers; kvfleet must give the same ones.
import { describe, expect, it } from 'vitest';
import { etcdctl, etcdctlError, etcdctlOk, startEtcdctl } from '../harness/etcdctl.js';
import { b64, leaseHex, parseEtcdJson } from '../harness/etcd-json.js';
import { INSTALL_HINTS, requireBinary } from '../harness/requirements.js';
import { compatTargets } from '../harness/targets.js';
import { useCluster } from '../harness/use-cluster.js';

const haveEtcdctl = requireBinary('etcdctl', INSTALL_HINTS.etcdctl);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const target of compatTargets({ proxies: true })) {
  describe.skipIf(!target.enabled || !haveEtcdctl)(`etcdctl 3.4 watch and lease against ${target.name}`, () => {
    const cluster = useCluster({ kind: target.kind, size: 1, proxy: target.proxy });
    const ctl = (args: string[], input?: string) => etcdctlOk(cluster().clientUrls, args, { input });
    const fails = async (args: string[]) => {
      const result = await etcdctl(cluster().clientUrls, args);
      expect(result.code, `etcdctl ${args.join(' ')} should fail; stdout: ${result.stdout}`).not.toBe(0);
      return etcdctlError(result.stderr);
    };
    const revision = async (): Promise<number> => parseEtcdJson(await ctl(['get', 'no-such-key', '-w', 'json'])).header.revision;
    /** Starts `etcdctl watch ... --rev <next revision>` so no write made after it is missed. */
    const watchFromNext = async (args: string[]) => startEtcdctl(cluster().clientUrls, ['watch', ...args, '--rev', String((await revision()) + 1)]);
    const grant = async (ttl: number): Promise<string> => {
      const out = await ctl(['lease', 'grant', String(ttl)]);
      const match = /^lease ([0-9a-f]{16}) granted with TTL\((\d+)s\)\n$/.exec(out);
      expect(match, out).not.toBeNull();
      return match![1]!;
    };

    it('watch a key: PUT and DELETE events, simple output', async () => {
      const watch = await watchFromNext(['wk/k']);
      await ctl(['put', 'wk/k', 'v1']);
      await ctl(['put', 'wk/other', 'x']);
      await ctl(['put', 'wk/k', 'v2']);
      await ctl(['del', 'wk/k']);
      const expected = ['PUT', 'wk/k', 'v1', 'PUT', 'wk/k', 'v2', 'DELETE', 'wk/k', ''];
      expect(await watch.waitForLines(expected.length)).toEqual(expected);
      expect(await watch.stop()).toEqual(expected);
    });

    it('watch --prefix --prev-kv prints the previous key-value before each event', async () => {
      const watch = await watchFromNext(['wp/', '--prefix', '--prev-kv']);
      await ctl(['put', 'wp/a', '1']);
      await ctl(['put', 'wq/a', 'not watched']);
      await ctl(['put', 'wp/a', '2']);
      await ctl(['put', 'wp/b', '3']);
      await ctl(['del', 'wp/a']);
      const expected = [
        'PUT', 'wp/a', '1',
        'PUT', 'wp/a', '1', 'wp/a', '2',
        'PUT', 'wp/b', '3',
        'DELETE', 'wp/a', '2', 'wp/a', '',
      ];
      expect(await watch.waitForLines(expected.length)).toEqual(expected);
      expect(await watch.stop()).toEqual(expected);
    });

    it('watch --rev replays history, with prev-kv, in -w json', async () => {
      const first = parseEtcdJson(await ctl(['put', 'wh/k', 'a', '-w', 'json'])).header.revision as number;
      await ctl(['put', 'wh/k', 'b']);
      await ctl(['del', 'wh/k']);
      const watch = startEtcdctl(cluster().clientUrls, ['watch', 'wh/k', '--rev', String(first), '--prev-kv', '-w', 'json']);
      // How many events each response carries is not part of the contract: read until all 3 came.
      const events: any[] = [];
      for (let n = 1; events.length < 3; n++) {
        const lines = await watch.waitForLines(n);
        const response = parseEtcdJson(lines[n - 1]!);
        expect(response.Canceled).toBe(false);
        expect(response.CompactRevision).toBe(0);
        expect(response.Header.revision).toBeGreaterThanOrEqual(first + 2);
        events.push(...response.Events);
      }
      await watch.stop();
      const key = Buffer.from('wh/k').toString('base64');
      expect(events).toEqual([
        { kv: { key, create_revision: first, mod_revision: first, version: 1, value: Buffer.from('a').toString('base64') } },
        {
          kv: { key, create_revision: first, mod_revision: first + 1, version: 2, value: Buffer.from('b').toString('base64') },
          prev_kv: { key, create_revision: first, mod_revision: first, version: 1, value: Buffer.from('a').toString('base64') },
        },
        {
          type: 1,
          kv: { key, mod_revision: first + 2 },
          prev_kv: { key, create_revision: first, mod_revision: first + 1, version: 2, value: Buffer.from('b').toString('base64') },
        },
      ]);
    });

    it('lease grant, list, put --lease, timetolive --keys, keep-alive --once, revoke', async () => {
      const id = await grant(60);
      const json = parseEtcdJson(await ctl(['lease', 'grant', '60', '-w', 'json']));
      expect(json.TTL).toBe(60);
      expect(json.Error).toBe('');
      const id2 = leaseHex(json.ID);
      const list = await ctl(['lease', 'list']);
      expect(list).toMatch(/^found \d+ leases\n/);
      expect(list.split('\n')).toEqual(expect.arrayContaining([id, id2]));
      const listJson = parseEtcdJson(await ctl(['lease', 'list', '-w', 'json']));
      expect(listJson.leases.map((l: { id: string }) => leaseHex(l.id))).toEqual(expect.arrayContaining([id, id2]));

      expect(await ctl(['put', 'lease/a', '1', `--lease=${id}`])).toBe('OK\n');
      expect(await ctl(['put', 'lease/b', '2', `--lease=${id}`])).toBe('OK\n');
      const got = parseEtcdJson(await ctl(['get', 'lease/a', '-w', 'json']));
      expect(leaseHex(got.kvs[0].lease)).toBe(id);
      // etcd lists attached keys in no particular order (a Go map).
      expect(await ctl(['lease', 'timetolive', id, '--keys'])).toMatch(
        new RegExp(`^lease ${id} granted with TTL\\(60s\\), remaining\\((59|60)s\\), attached keys\\(\\[(lease/a lease/b|lease/b lease/a)\\]\\)\\n$`),
      );
      expect(await ctl(['lease', 'timetolive', id])).toMatch(new RegExp(`^lease ${id} granted with TTL\\(60s\\), remaining\\((59|60)s\\)\\n$`));
      const ttl = parseEtcdJson(await ctl(['lease', 'timetolive', id, '--keys', '-w', 'json']));
      expect(leaseHex(ttl.id)).toBe(id);
      expect(ttl['granted-ttl']).toBe(60);
      expect(ttl.ttl).toBeGreaterThanOrEqual(58);
      expect(ttl.keys.map(b64).sort()).toEqual(['lease/a', 'lease/b']);

      expect(await ctl(['lease', 'keep-alive', '--once', id])).toBe(`lease ${id} keepalived with TTL(60)\n`);
      const ka = parseEtcdJson(await ctl(['lease', 'keep-alive', '--once', id, '-w', 'json']));
      expect(leaseHex(ka.ID)).toBe(id);
      expect(ka.TTL).toBe(60);

      expect(await ctl(['lease', 'revoke', id])).toBe(`lease ${id} revoked\n`);
      expect(await ctl(['get', 'lease/', '--prefix'])).toBe('');
      expect(await ctl(['lease', 'timetolive', id])).toBe(`lease ${id} already expired\n`);
      expect(await fails(['lease', 'revoke', id])).toBe('Error: failed to revoke lease (etcdserver: requested lease not found)');
      expect(await fails(['lease', 'keep-alive', '--once', id])).toBe('Error: etcdserver: requested lease not found');
      expect(await ctl(['lease', 'timetolive', '1234'])).toBe('lease 0000000000001234 already expired\n');
      expect(await fails(['put', 'lease/c', '3', `--lease=${id}`])).toBe('Error: etcdserver: requested lease not found');
      expect(await ctl(['lease', 'revoke', id2])).toBe(`lease ${id2} revoked\n`);
    });

    it('a lease expires and takes its keys with it unless kept alive; TTL 1 is raised to the 2 s minimum', async () => {
      const doomed = await grant(1);
      expect(await ctl(['lease', 'timetolive', doomed])).toMatch(/granted with TTL\(2s\)/);
      const kept = await grant(2);
      const keepAlive = startEtcdctl(cluster().clientUrls, ['lease', 'keep-alive', kept]);
      await keepAlive.waitForLines(1);
      expect(keepAlive.lines[0]).toBe(`lease ${kept} keepalived with TTL(2)`);
      await ctl(['put', 'exp/doomed', 'x', `--lease=${doomed}`]);
      await ctl(['put', 'exp/kept', 'y', `--lease=${kept}`]);
      const watch = await watchFromNext(['exp/', '--prefix']);
      // The expiry is a DELETE event like any other.
      expect(await watch.waitForLines(3, 15_000)).toEqual(['DELETE', 'exp/doomed', '']);
      expect(await ctl(['lease', 'timetolive', doomed])).toBe(`lease ${doomed} already expired\n`);
      await sleep(2_500);
      expect(await ctl(['get', 'exp/', '--prefix'])).toBe('exp/kept\ny\n');
      const keepAliveLines = await keepAlive.stop();
      expect(keepAliveLines.length).toBeGreaterThanOrEqual(3);
      expect(new Set(keepAliveLines)).toEqual(new Set([`lease ${kept} keepalived with TTL(2)`]));
      expect(await ctl(['lease', 'revoke', kept])).toBe(`lease ${kept} revoked\n`);
      expect(await watch.waitForLines(6)).toEqual(['DELETE', 'exp/doomed', '', 'DELETE', 'exp/kept', '']);
      await watch.stop();
    });

    it('a watch from a compacted revision is canceled with the compact revision', async () => {
      const first = parseEtcdJson(await ctl(['put', 'wc/k', '1', '-w', 'json'])).header.revision as number;
      await ctl(['put', 'wc/k', '2']);
      expect(await ctl(['compaction', String(first + 1)])).toBe(`compacted revision ${first + 1}\n`);
      const json = await etcdctl(cluster().clientUrls, ['watch', 'wc/k', '--rev', String(first), '-w', 'json'], { timeoutMs: 10_000 });
      expect(json.timedOut).toBe(false);
      const response = parseEtcdJson(json.stdout.trim());
      expect(response.Canceled).toBe(true);
      expect(response.CompactRevision).toBe(first + 1);
      expect(response.Events).toEqual([]);
      const simple = await etcdctl(cluster().clientUrls, ['watch', 'wc/k', '--rev', String(first)], { timeoutMs: 10_000 });
      expect(simple.code).not.toBe(0);
      expect(simple.stdout).toBe('');
      expect(simple.stderr).toContain('watch was canceled (etcdserver: mvcc: required revision has been compacted)');
      expect(etcdctlError(simple.stderr)).toBe('Error: watch is canceled by the server');
    });
  });
}
