// etcdctl 3.4 against a 3-member cluster: KV reads and writes with their options, -w json
// fields, txn, compaction, request limits, etcd's error texts, and a member killed and restarted.
// Expectations are etcd 3.4's real answers; kvfleet must give the same ones.
import { describe, expect, it } from 'vitest';
import { etcdctl, etcdctlError, etcdctlOk } from '../harness/etcdctl.js';
import { b64, parseEtcdJson } from '../harness/etcd-json.js';
import { INSTALL_HINTS, requireBinary } from '../harness/requirements.js';
import { compatTargets } from '../harness/targets.js';
import { useCluster } from '../harness/use-cluster.js';

const haveEtcdctl = requireBinary('etcdctl', INSTALL_HINTS.etcdctl);

for (const target of compatTargets({ proxies: true })) {
  describe.skipIf(!target.enabled || !haveEtcdctl)(`etcdctl 3.4 KV against ${target.name} (3 members)`, () => {
    const cluster = useCluster({ kind: target.kind, size: 3, proxy: target.proxy });
    const ctl = (args: string[], input?: string | Buffer) => etcdctlOk(cluster().clientUrls, args, { input });
    /** etcdctl on one member directly (behind the proxy, for a proxied target). */
    const ctlAt = (member: number, args: string[]) => etcdctlOk([cluster().memberClientUrls[member]!], args);
    const fails = async (args: string[], input?: string | Buffer) => {
      const result = await etcdctl(cluster().clientUrls, args, { input });
      expect(result.code, `etcdctl ${args.join(' ')} should fail; stdout: ${result.stdout}`).not.toBe(0);
      return etcdctlError(result.stderr);
    };
    const revision = async (): Promise<number> => parseEtcdJson(await ctl(['get', 'no-such-key', '-w', 'json'])).header.revision;

    it('put prints OK and get prints key and value lines; a missing key prints nothing', async () => {
      expect(await ctl(['put', 'basic/k', 'hello world'])).toBe('OK\n');
      expect(await ctl(['get', 'basic/k'])).toBe('basic/k\nhello world\n');
      expect(await ctl(['get', 'basic/missing'])).toBe('');
      expect(await ctl(['get', 'basic/k', '--print-value-only'])).toBe('hello world\n');
    });

    it('-w json reports header, revisions, version and base64 keys and values', async () => {
      const put1 = parseEtcdJson(await ctl(['put', 'json/k', 'v1', '-w', 'json']));
      const r1 = put1.header.revision as number;
      // A uint64: beyond 2^53 for etcd (kept as a string); kvfleet's fit in 53 bits, and one
      // below 10^15 parses as a number, so compare the value, not the JSON type.
      expect(BigInt(put1.header.cluster_id as string | number) > 0n).toBe(true);
      expect(put1.header.member_id).toBeDefined();
      expect(put1.header.raft_term).toBeGreaterThanOrEqual(1);
      expect(put1.prev_kv).toBeUndefined();
      const put2 = parseEtcdJson(await ctl(['put', 'json/k', 'v2', '-w', 'json']));
      expect(put2.header.revision).toBe(r1 + 1);
      const got = parseEtcdJson(await ctl(['get', 'json/k', '-w', 'json']));
      expect(got.header.revision).toBe(r1 + 1);
      expect(got.count).toBe(1);
      expect(got.more).toBeUndefined();
      expect(got.kvs).toEqual([
        { key: Buffer.from('json/k').toString('base64'), create_revision: r1, mod_revision: r1 + 1, version: 2, value: Buffer.from('v2').toString('base64') },
      ]);
      // A miss: only the header, no kvs and no count (zero values are omitted).
      const miss = parseEtcdJson(await ctl(['get', 'json/missing', '-w', 'json']));
      expect(Object.keys(miss)).toEqual(['header']);
      expect(miss.header.revision).toBe(r1 + 1);
    });

    it('ranges: --prefix, --from-key, explicit range end, --limit with count and more', async () => {
      for (const k of ['a', 'b', 'c', 'd']) await ctl(['put', `rng/${k}`, k.toUpperCase()]);
      await ctl(['put', 'rnh', 'after']);
      expect(await ctl(['get', 'rng/', '--prefix'])).toBe('rng/a\nA\nrng/b\nB\nrng/c\nC\nrng/d\nD\n');
      expect(await ctl(['get', 'rng/b', 'rng/d'])).toBe('rng/b\nB\nrng/c\nC\n');
      expect(await ctl(['get', 'rng/c', '--from-key', '--keys-only'])).toMatch(/^rng\/c\n\nrng\/d\n\nrnh\n\n/);
      expect(await ctl(['get', 'rng/', '--prefix', '--limit', '2'])).toBe('rng/a\nA\nrng/b\nB\n');
      const limited = parseEtcdJson(await ctl(['get', 'rng/', '--prefix', '--limit', '2', '-w', 'json']));
      expect(limited.count).toBe(4);
      expect(limited.more).toBe(true);
      expect(limited.kvs.map((kv: { key: string }) => b64(kv.key))).toEqual(['rng/a', 'rng/b']);
      const keysOnly = parseEtcdJson(await ctl(['get', 'rng/', '--prefix', '--keys-only', '-w', 'json']));
      expect(keysOnly.count).toBe(4);
      expect(keysOnly.kvs.every((kv: Record<string, unknown>) => kv.value === undefined && typeof kv.key === 'string')).toBe(true);
    });

    it('--sort-by and --order', async () => {
      await ctl(['put', 'srt/1', 'z']);
      await ctl(['put', 'srt/2', 'y']);
      await ctl(['put', 'srt/3', 'x']);
      await ctl(['put', 'srt/1', 'w']); // srt/1 now has the newest mod revision and version 2
      const keys = async (...args: string[]) =>
        (await ctl(['get', 'srt/', '--prefix', '--keys-only', ...args])).split('\n').filter(Boolean);
      expect(await keys('--order', 'DESCEND')).toEqual(['srt/3', 'srt/2', 'srt/1']);
      expect(await keys('--sort-by', 'VALUE')).toEqual(['srt/1', 'srt/3', 'srt/2']);
      expect(await keys('--sort-by', 'VALUE', '--order', 'DESCEND')).toEqual(['srt/2', 'srt/3', 'srt/1']);
      expect(await keys('--sort-by', 'MODIFY', '--order', 'DESCEND')).toEqual(['srt/1', 'srt/3', 'srt/2']);
      expect(await keys('--sort-by', 'CREATE', '--order', 'DESCEND')).toEqual(['srt/3', 'srt/2', 'srt/1']);
      expect(await keys('--sort-by', 'VERSION', '--order', 'DESCEND', '--limit', '1')).toEqual(['srt/1']);
      expect(await keys('--sort-by', 'MODIFY', '--order', 'DESCEND', '--limit', '2')).toEqual(['srt/1', 'srt/3']);
    });

    it('--rev reads the past; a future revision is an error', async () => {
      const r1 = parseEtcdJson(await ctl(['put', 'rev/k', 'old', '-w', 'json'])).header.revision as number;
      await ctl(['put', 'rev/k', 'new']);
      expect(await ctl(['get', 'rev/k', '--rev', String(r1), '--print-value-only'])).toBe('old\n');
      expect(await ctl(['get', 'rev/k', '--rev', String(r1 - 1)])).toBe('');
      const atR1 = parseEtcdJson(await ctl(['get', 'rev/k', '--rev', String(r1), '-w', 'json']));
      expect(atR1.header.revision).toBe(r1 + 1); // the header is the current revision, not the one read
      expect(atR1.kvs[0].mod_revision).toBe(r1);
      expect(await fails(['get', 'rev/k', '--rev', String(r1 + 1000)])).toBe(
        'Error: etcdserver: mvcc: required revision is a future revision',
      );
    });

    it('--prev-kv on put and del; del --prefix, --from-key and ranges report counts', async () => {
      await ctl(['put', 'pkv/k', 'v1']);
      expect(await ctl(['put', 'pkv/k', 'v2', '--prev-kv'])).toBe('OK\npkv/k\nv1\n');
      expect(await ctl(['put', 'pkv/new', 'n', '--prev-kv'])).toBe('OK\n');
      const put = parseEtcdJson(await ctl(['put', 'pkv/k', 'v3', '--prev-kv', '-w', 'json']));
      expect(b64(put.prev_kv.value)).toBe('v2');
      expect(put.prev_kv.version).toBe(2);
      expect(await ctl(['del', 'pkv/k', '--prev-kv'])).toBe('1\npkv/k\nv3\n');
      expect(await ctl(['del', 'pkv/k'])).toBe('0\n');
      const r = await revision();
      const del = parseEtcdJson(await ctl(['del', 'pkv/new', '--prev-kv', '-w', 'json']));
      expect(del.header.revision).toBe(r + 1);
      expect(del.deleted).toBe(1);
      expect(del.prev_kvs.map((kv: { key: string; value: string }) => [b64(kv.key), b64(kv.value)])).toEqual([['pkv/new', 'n']]);
      // A delete of nothing does not bump the revision.
      const none = parseEtcdJson(await ctl(['del', 'pkv/none', '-w', 'json']));
      expect(none.header.revision).toBe(r + 1);
      expect(none.deleted).toBeUndefined();

      for (const k of ['a', 'b', 'c']) await ctl(['put', `dlp/${k}`, k]);
      for (const k of ['a', 'b', 'c']) await ctl(['put', `dlq/${k}`, k]);
      expect(await ctl(['del', 'dlp/', '--prefix'])).toBe('3\n');
      expect(await ctl(['get', 'dlp/', '--prefix'])).toBe('');
      expect(await ctl(['del', 'dlq/a', 'dlq/c'])).toBe('2\n');
      expect(await ctl(['get', 'dlq/', '--prefix', '--keys-only'])).toBe('dlq/c\n\n');
      await ctl(['put', 'zzzz/1', 'x']);
      await ctl(['put', 'zzzz/2', 'x']);
      expect(await ctl(['del', 'zzzz/', '--from-key'])).toBe('2\n');
    });

    it('txn from stdin: value, version, create and mod compares; success and failure branches', async () => {
      const r = parseEtcdJson(await ctl(['put', 'txn/k', 'v1', '-w', 'json'])).header.revision as number;
      const success = await ctl(['txn'], [
        'value("txn/k") = "v1"',
        'version("txn/k") = "1"',
        `create("txn/k") = "${r}"`,
        `mod("txn/k") < "${r + 1}"`,
        '',
        'put txn/ok yes',
        'get txn/k',
        '',
        'put txn/failed yes',
        '',
        '',
      ].join('\n'));
      expect(success).toBe('SUCCESS\n\nOK\n\ntxn/k\nv1\n');
      expect(await ctl(['get', 'txn/failed'])).toBe('');

      const failure = await ctl(['txn'], ['value("txn/k") > "v1"', '', 'put txn/ok no', '', 'put txn/failed yes', 'del txn/ok', '', ''].join('\n'));
      expect(failure).toBe('FAILURE\n\nOK\n\n1\n');
      expect(await ctl(['get', 'txn/ok'])).toBe('');
      expect(await ctl(['get', 'txn/failed', '--print-value-only'])).toBe('yes\n');

      // A missing key: a value compare is false; version/create/mod compare against 0.
      // An empty branch prints only the verdict.
      expect(await ctl(['txn'], ['value("txn/none") = ""', '', 'put txn/x 1', '', '', ''].join('\n'))).toBe('FAILURE\n');
      expect(await ctl(['txn'], ['version("txn/none") = "0"', 'create("txn/none") = "0"', 'mod("txn/none") < "1"', '', '', '', ''].join('\n'))).toBe('SUCCESS\n');
      expect(await ctl(['get', 'txn/x'])).toBe('');

      // -w json: succeeded false is omitted; every write in one txn shares one new revision,
      // and each response carries a header with only that revision.
      const now = await revision();
      const json = parseEtcdJson(
        await ctl(['txn', '-w', 'json'], [`mod("txn/k") != "${r}"`, '', '', 'put txn/j1 1', 'put txn/j2 2', 'get txn/k', 'del txn/failed', '', ''].join('\n')),
      );
      expect(json.succeeded).toBeUndefined();
      expect(json.header.revision).toBe(now + 1);
      expect(json.responses).toEqual([
        { Response: { ResponsePut: { header: { revision: now + 1 } } } },
        { Response: { ResponsePut: { header: { revision: now + 1 } } } },
        {
          Response: {
            ResponseRange: {
              header: { revision: now + 1 },
              kvs: [{ key: Buffer.from('txn/k').toString('base64'), create_revision: r, mod_revision: r, version: 1, value: Buffer.from('v1').toString('base64') }],
              count: 1,
            },
          },
        },
        { Response: { ResponseDeleteRange: { header: { revision: now + 1 }, deleted: 1 } } },
      ]);
      const j1 = parseEtcdJson(await ctl(['get', 'txn/j1', '-w', 'json']));
      expect(j1.kvs[0].mod_revision).toBe(now + 1);

      const ok = parseEtcdJson(await ctl(['txn', '-w', 'json'], ['value("txn/j2") = "2"', '', 'get txn/none', '', '', ''].join('\n')));
      expect(ok.succeeded).toBe(true);
      expect(ok.header.revision).toBe(now + 1); // a read-only txn does not bump the revision
      expect(ok.responses).toEqual([{ Response: { ResponseRange: { header: { revision: now + 1 } } } }]);

      // The same key written twice in one txn is refused.
      expect(await fails(['txn'], ['', 'put txn/d 1', 'del txn/d', '', '', ''].join('\n'))).toBe(
        'Error: etcdserver: duplicate key given in txn request',
      );
      expect(await fails(['txn'], ['', 'put txn/d 1', 'put txn/d 2', '', '', ''].join('\n'))).toBe(
        'Error: etcdserver: duplicate key given in txn request',
      );
      expect(await ctl(['get', 'txn/d'])).toBe('');
    });

    it('compaction: reads below it fail with etcd\'s error; compacting again or ahead fails too', async () => {
      await ctl(['put', 'cmp/k', 'v1']);
      const r = parseEtcdJson(await ctl(['put', 'cmp/k', 'v2', '-w', 'json'])).header.revision as number;
      await ctl(['put', 'cmp/k', 'v3']);
      expect(await ctl(['compaction', String(r)])).toBe(`compacted revision ${r}\n`);
      expect(await fails(['get', 'cmp/k', '--rev', String(r - 1)])).toBe('Error: etcdserver: mvcc: required revision has been compacted');
      expect(await ctl(['get', 'cmp/k', '--rev', String(r), '--print-value-only'])).toBe('v2\n');
      expect(await fails(['compaction', String(r)])).toBe('Error: etcdserver: mvcc: required revision has been compacted');
      expect(await fails(['compaction', String(r + 1000)])).toBe('Error: etcdserver: mvcc: required revision is a future revision');
    });

    it('a request over the 1.5 MiB default limit is refused; one under it is stored', async () => {
      const big = Buffer.alloc(1_600_000, 'a');
      expect(await fails(['put', 'big/k'], big)).toBe('Error: etcdserver: request is too large');
      expect(await ctl(['put', 'big/k'], Buffer.alloc(1_400_000, 'b'))).toBe('OK\n');
      expect((await ctl(['get', 'big/k', '--print-value-only'])).length).toBe(1_400_001);
      await ctl(['del', 'big/k']);
    });

    it('error texts: unknown lease on put', async () => {
      expect(await fails(['put', 'err/k', 'v', '--lease=1234abcd'])).toBe('Error: etcdserver: requested lease not found');
    });

    /** `endpoint status` and `endpoint health` on `urls`: every one answers; all members: exactly one leader. */
    const expectStatusAndHealth = async (urls: string[], allMembers: boolean) => {
      // host:port, not http://host:port: for per-endpoint calls etcdctl 3.4 sends the endpoint as
      // given as the HTTP/2 :authority, and Node's HTTP/2 server (kvfleet's) rejects an
      // authority containing "://" (docs/compatibility.md).
      const hostPorts = urls.map((u) => new URL(u).host);
      const status = parseEtcdJson(await etcdctlOk(hostPorts, ['endpoint', 'status', '-w', 'json']));
      expect(status).toHaveLength(urls.length);
      expect(status.map((s: { Endpoint: string }) => s.Endpoint)).toEqual(hostPorts);
      const leaders = new Set(status.map((s: { Status: { leader: string } }) => String(s.Status.leader)));
      expect(leaders.size).toBe(1);
      if (allMembers) expect(status.map((s: { Status: { header: { member_id: string } } }) => String(s.Status.header.member_id))).toContain([...leaders][0]);
      expect(new Set(status.map((s: { Status: { header: { cluster_id: string } } }) => String(s.Status.header.cluster_id))).size).toBe(1);
      for (const s of status) {
        expect(typeof s.Status.version).toBe('string');
        expect(s.Status.dbSize).toBeGreaterThan(0);
        expect(s.Status.raftTerm).toBeGreaterThanOrEqual(1);
      }
      const health = parseEtcdJson(await etcdctlOk(urls, ['endpoint', 'health', '-w', 'json']));
      expect(health).toHaveLength(urls.length);
      for (const h of health) {
        expect(h.health).toBe(true);
        expect(urls).toContain(h.endpoint);
      }
      // etcdctl 3.4 prints the plain health lines on stderr.
      const plain = await etcdctl(urls, ['endpoint', 'health']);
      expect(plain.code).toBe(0);
      for (const url of urls) expect(plain.stderr).toContain(`${url} is healthy: successfully committed proposal`);
    };

    it('endpoint status and health -w json: one leader, one cluster', async () => {
      await expectStatusAndHealth(cluster().memberClientUrls, true);
      // A proxy forwards both to a member behind it.
      if (target.proxy) await expectStatusAndHealth(cluster().clientUrls, false);
    });

    it('a member killed with SIGKILL restarts from its data dir and catches up', async () => {
      await cluster().member(2).kill('SIGKILL');
      expect(cluster().member(2).running).toBe(false);
      // If the killed member led, a write forwarded to it before the others notice is lost and
      // times out (in etcd too); wait for the survivors to have a leader.
      await cluster().waitHealthy(0);
      // Through the proxy, the write must fail over if the proxy was talking to the killed member.
      if (target.proxy) await ctl(['put', 'restart/k', 'while-down']);
      else await ctlAt(0, ['put', 'restart/k', 'while-down']);
      await cluster().restart(2);
      // A serializable read on the restarted member answers from its own state.
      let seen = '';
      for (let i = 0; i < 50 && seen !== 'while-down\n'; i++) {
        seen = await ctlAt(2, ['get', 'restart/k', '--consistency=s', '--print-value-only']);
        if (seen !== 'while-down\n') await new Promise((r) => setTimeout(r, 100));
      }
      expect(seen).toBe('while-down\n');
      expect(await ctlAt(2, ['get', 'basic/k', '--print-value-only'])).toBe('hello world\n');
      expect(await ctl(['get', 'restart/k', '--print-value-only'])).toBe('while-down\n');
    });
  });
}
