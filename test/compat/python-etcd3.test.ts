// The python `etcd3` client (0.12, Debian's python3-etcd3) against a single member: small
// scripts in ./python print JSON, asserted here. Expectations are etcd 3.4's real answers;
// kvfleet must give the same ones.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { grpcTarget } from '../harness/probe.js';
import { runPythonJson } from '../harness/python.js';
import { INSTALL_HINTS, requirePythonModule } from '../harness/requirements.js';
import { compatTargets } from '../harness/targets.js';
import { useCluster } from '../harness/use-cluster.js';

const havePythonEtcd3 = requirePythonModule('etcd3', INSTALL_HINTS.pythonEtcd3);
const script = (name: string) => fileURLToPath(new URL(`./python/${name}.py`, import.meta.url));

for (const target of compatTargets({ proxies: true })) {
  describe.skipIf(!target.enabled || !havePythonEtcd3)(`python etcd3 client against ${target.name}`, () => {
    const cluster = useCluster({ kind: target.kind, size: 1, proxy: target.proxy });
    const run = <T = any>(name: string, prefix: string): Promise<T> => {
      const [host, port] = grpcTarget(cluster().clientUrls[0]!).split(':') as [string, string];
      return runPythonJson<T>('etcd3', script(name), [host, port, prefix], 30_000);
    };

    it('put, get, get_prefix, get_range, replace, put_if_not_exists, delete, delete_prefix, status', async () => {
      const out = await run('kv', 'py/kv/');
      const r = out.put_revision as number;
      expect(out.get).toEqual({
        value: 'v1',
        meta: { key: 'py/kv/k', create_revision: r, mod_revision: r, version: 1, lease_id: 0 },
      });
      expect(out.get_missing).toEqual({ value: null, meta: null });
      expect(out.put_prev).toEqual({ value: 'v1', version: 1, revision: r + 1 });
      expect(out.prefix).toEqual([['py/kv/dir/a', '3'], ['py/kv/dir/b', '2'], ['py/kv/dir/c', '1']]);
      expect(out.prefix_desc).toEqual(['py/kv/dir/c', 'py/kv/dir/b', 'py/kv/dir/a']);
      expect(out.prefix_by_value).toEqual(['py/kv/dir/c', 'py/kv/dir/b', 'py/kv/dir/a']);
      expect(out.range).toEqual(['py/kv/dir/a', 'py/kv/dir/b']);
      expect([out.replace_ok, out.replace_stale, out.after_replace, out.replace_missing]).toEqual([true, false, 'v3', false]);
      expect([out.put_if_not_exists_new, out.put_if_not_exists_again, out.once]).toEqual([true, false, 'first']);
      expect([out.delete_existing, out.delete_missing]).toEqual([true, false]);
      expect(out.delete_response).toEqual({ deleted: 1, prev: [['py/kv/once', 'first']] });
      expect(out.delete_prefix).toBe(3);
      expect(out.left).toEqual(['py/kv/dis']);
      expect(out.status).toMatchObject({ db_size_positive: true, raft_term_positive: true, leader_is_member: true });
      expect(typeof out.status.version).toBe('string');
    });

    it('transaction with value, version, create and mod compares; both branches; missing keys', async () => {
      const out = await run('txn', 'py/txn/');
      expect(out.success).toEqual({
        ok: true,
        kinds: ['response_put', 'range'],
        got: [['v1', 'py/txn/k']],
        ok_key: 'yes',
        failed_key: null,
      });
      expect(out.failure).toEqual({
        ok: false,
        kinds: ['response_delete_range', 'response_put'],
        deleted: 1,
        ok_key: null,
        failed_key: 'yes',
      });
      expect(out.missing_key).toEqual({ version_eq_0: true, value_eq_empty: false, existing_gt_0: true });
    });

    it('watch and watch_prefix from a revision, with prev_kv; history; a compacted start revision', async () => {
      const out = await run('watch', 'py/watch/');
      const r = out.rev as number;
      expect(out.key_events).toEqual([
        { type: 'PutEvent', key: 'py/watch/k', value: 'a', mod_revision: r + 1, version: 1 },
        { type: 'PutEvent', key: 'py/watch/k', value: 'b', mod_revision: r + 3, version: 2 },
        { type: 'DeleteEvent', key: 'py/watch/k', value: '', mod_revision: r + 6, version: 0 },
      ]);
      expect(out.prefix_events).toEqual([
        { type: 'PutEvent', key: 'py/watch/dir/x', value: '1', mod_revision: r + 2, version: 1 },
        { type: 'PutEvent', key: 'py/watch/dir/x', value: '2', mod_revision: r + 4, version: 2, prev_value: '1' },
        { type: 'DeleteEvent', key: 'py/watch/dir/x', value: '', mod_revision: r + 5, version: 0, prev_value: '2' },
      ]);
      expect(out.history).toEqual(out.key_events);
      expect(out.compacted).toEqual({ error: 'RevisionCompactedError', compacted_revision: r + 3 });
    });

    it('lease: grant, put with a lease, refresh, time to live, revoke; errors for a revoked lease', async () => {
      const out = await run('lease', 'py/lease/');
      expect(out.granted).toEqual({ id_positive: true, ttl: 30 });
      expect(out.attached).toBe(true);
      expect(out.refresh).toEqual([{ id_matches: true, ttl: 30 }]);
      expect(out.time_to_live).toEqual({ granted_ttl: 30, remaining_ok: true, keys: ['py/lease/a', 'py/lease/b'] });
      expect(out.info).toEqual({ id_matches: true, grantedTTL: 30 });
      expect(out.after_revoke).toEqual({ keys: [], ttl: -1 });
      const notFound = { code: 'NOT_FOUND', details: 'etcdserver: requested lease not found' };
      expect(out.put_with_revoked_lease).toMatchObject(notFound);
      expect(out.revoke_again).toMatchObject(notFound);
    });
  });
}
