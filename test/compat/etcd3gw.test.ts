// The JSON gateway (`/v3/...` on the client URL) through python's `etcd3gw` (2.0, Debian's
// python3-etcd3gw), and the exact bytes of a put and a range response. Expectations are etcd
// 3.4's real answers; kvfleet must give the same ones.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runPythonJson } from '../harness/python.js';
import { requirePythonModule } from '../harness/requirements.js';
import { compatTargets } from '../harness/targets.js';
import { useCluster } from '../harness/use-cluster.js';

const haveEtcd3gw = requirePythonModule('etcd3gw', 'apt-get install -y python3-etcd3gw');
const script = (name: string) => fileURLToPath(new URL(`./python/${name}.py`, import.meta.url));

const b64 = (s: string): string => Buffer.from(s).toString('base64');

for (const target of compatTargets({ proxies: true })) {
  describe.skipIf(!target.enabled || !haveEtcd3gw)(`etcd3gw and the JSON gateway against ${target.name}`, () => {
    const cluster = useCluster({ kind: target.kind, size: 1, proxy: target.proxy });
    const base = (): string => cluster().clientUrls[0]!;
    const run = <T = any>(name: string, prefix: string): Promise<T> => {
      const u = new URL(base());
      return runPythonJson<T>('etcd3gw', script(name), [u.hostname, u.port, prefix], 30_000);
    };
    const post = async (path: string, body: unknown): Promise<string> => {
      const res = await fetch(`${base()}${path}`, { method: 'POST', body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      return res.text();
    };

    it('the exact JSON of a put and a range response', async () => {
      const put = await post('/v3/kv/put', { key: b64('gwjson/k'), value: b64('v') });
      const m = /^\{"header":\{"cluster_id":"(\d+)","member_id":"(\d+)","revision":"(\d+)","raft_term":"(\d+)"\}\}$/.exec(put);
      expect(m, put).not.toBeNull();
      const [, cid, mid, rev, term] = m!;
      const header = `{"cluster_id":"${cid}","member_id":"${mid}","revision":"${rev}","raft_term":"${term}"}`;
      const range = await post('/v3/kv/range', { key: b64('gwjson/k') });
      expect(range).toBe(
        `{"header":${header},"kvs":[{"key":"${b64('gwjson/k')}","create_revision":"${rev}","mod_revision":"${rev}","version":"1","value":"${b64('v')}"}],"count":"1"}`,
      );
      const empty = await post('/v3/kv/range', { key: b64('gwjson/none') });
      expect(empty).toBe(`{"header":${header}}`);
    });

    it('put, get (with metadata), get_prefix, delete, delete_prefix, status', async () => {
      const out = await run('gw_kv', 'gw/kv/');
      expect(out.put).toBe(true);
      expect(out.get).toEqual(['v1']);
      const r = out.get_metadata.meta.create_revision as string;
      expect(out.get_metadata).toEqual({ value: 'v1', meta: { key: 'gw/kv/a', create_revision: r, mod_revision: r, version: '1' } });
      expect(out.get_missing).toEqual([]);
      expect(out.prefix).toEqual([['gw/kv/dir/a', '1'], ['gw/kv/dir/b', '2'], ['gw/kv/dir/c', '3']]);
      expect(out.prefix_desc).toEqual(['gw/kv/dir/c', 'gw/kv/dir/b', 'gw/kv/dir/a']);
      expect([out.delete, out.delete_missing, out.delete_prefix]).toEqual([true, false, true]);
      expect(out.left).toEqual(['gw/kv/dis']);
      expect(out.status).toEqual({
        keys: ['dbSize', 'dbSizeInUse', 'header', 'leader', 'raftAppliedIndex', 'raftIndex', 'raftTerm', 'version'],
        header_keys: ['cluster_id', 'member_id', 'raft_term', 'revision'],
        db_size_is_string: true,
      });
    });

    it('lease: grant, put with the lease, keys, ttl, refresh (keepalive), revoke', async () => {
      const out = await run('gw_lease', 'gw/lease/');
      expect(out).toEqual({
        id_positive: true,
        attached: true,
        keys: ['gw/lease/a', 'gw/lease/b'],
        ttl_ok: true,
        refresh: 30,
        revoke: true,
        // A revoked lease: time-to-live says -1, keepalive leaves TTL out (etcd3gw reads -1).
        after_revoke: { ttl: -1, keys: [], refresh: -1 },
        put_with_revoked_lease: {
          type: 'Etcd3Exception',
          detail: '{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}',
        },
      });
    });

    it('watch: a key with delete, a prefix with prev_kv, watch_once', async () => {
      const out = await run('gw_watch', 'gw/watch/');
      expect(out.key_events).toEqual([
        { type: 'PUT', key: 'gw/watch/k', value: 'a', version: '1' },
        { type: 'PUT', key: 'gw/watch/k', value: 'b', version: '2' },
        // A delete event's kv carries only the key and mod_revision.
        { type: 'DELETE', key: 'gw/watch/k', value: null, version: null },
      ]);
      expect(out.prefix_events).toEqual([
        { type: 'PUT', key: 'gw/watch/dir/x', value: '1', version: '1' },
        { type: 'PUT', key: 'gw/watch/dir/x', value: '2', version: '2', prev_value: '1' },
      ]);
      expect(out.once).toEqual({ key: 'gw/watch/once', value: 'z' });
    });
  });
}
