// python's etcd3gw against the gateway on a standalone fastify app in front of an in-process
// kvfleet member: the same scripts and expectations as test/compat/etcd3gw.test.ts (which runs
// them against etcd 3.4 and, once the member's client port serves HTTP, against kvfleet).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findPython, runPythonJson } from '../../../../test/harness/python.js';
import { useGatewayMember } from './gateway-helpers.js';

const script = (name: string) => fileURLToPath(new URL(`../../../../test/compat/python/${name}.py`, import.meta.url));

describe.skipIf(findPython('etcd3gw') === undefined)('etcd3gw against the gateway of an in-process kvfleet member', () => {
  const gw = useGatewayMember();
  const run = <T = any>(name: string, prefix: string): Promise<T> => {
    const u = new URL(gw().url);
    return runPythonJson<T>('etcd3gw', script(name), [u.hostname, u.port, prefix], 30_000);
  };

  it('kv', async () => {
    const out = await run('gw_kv', 'gw/kv/');
    const r = out.get_metadata.meta.create_revision as string;
    expect(out.get_metadata).toEqual({ value: 'v1', meta: { key: 'gw/kv/a', create_revision: r, mod_revision: r, version: '1' } });
    expect(out.get_missing).toEqual([]);
    expect(out.prefix).toEqual([['gw/kv/dir/a', '1'], ['gw/kv/dir/b', '2'], ['gw/kv/dir/c', '3']]);
    expect(out.prefix_desc).toEqual(['gw/kv/dir/c', 'gw/kv/dir/b', 'gw/kv/dir/a']);
    expect([out.put, out.delete, out.delete_missing, out.delete_prefix]).toEqual([true, true, false, true]);
    expect(out.left).toEqual(['gw/kv/dis']);
    expect(out.status.keys).toEqual(['dbSize', 'dbSizeInUse', 'header', 'leader', 'raftAppliedIndex', 'raftIndex', 'raftTerm', 'version']);
  });

  it('lease', async () => {
    const out = await run('gw_lease', 'gw/lease/');
    expect(out).toEqual({
      id_positive: true,
      attached: true,
      keys: ['gw/lease/a', 'gw/lease/b'],
      ttl_ok: true,
      refresh: 30,
      revoke: true,
      after_revoke: { ttl: -1, keys: [], refresh: -1 },
      put_with_revoked_lease: {
        type: 'Etcd3Exception',
        detail: '{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}',
      },
    });
  });

  it('watch', async () => {
    const out = await run('gw_watch', 'gw/watch/');
    expect(out.key_events).toEqual([
      { type: 'PUT', key: 'gw/watch/k', value: 'a', version: '1' },
      { type: 'PUT', key: 'gw/watch/k', value: 'b', version: '2' },
      { type: 'DELETE', key: 'gw/watch/k', value: null, version: null },
    ]);
    expect(out.prefix_events).toEqual([
      { type: 'PUT', key: 'gw/watch/dir/x', value: '1', version: '1' },
      { type: 'PUT', key: 'gw/watch/dir/x', value: '2', version: '2', prev_value: '1' },
    ]);
    expect(out.once).toEqual({ key: 'gw/watch/once', value: 'z' });
  });
});
