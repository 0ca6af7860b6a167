// The HTTP side of a member's client port and of --listen-metrics-urls: /health, /version,
// /metrics (etcd's metric names, types and buckets), Go's 404 and 405 texts, etcd's CORS
// headers, and `etcdctl endpoint health` over gRPC on the same port. Expectations are etcd
// 3.4's real answers; /livez and /readyz exist only from etcd 3.5 on, so those assertions run
// against kvfleet only (marked "kvfleet only").
import { describe, expect, it } from 'vitest';
import { etcdctl, etcdctlOk } from '../harness/etcdctl.js';
import { freePort } from '../harness/ports.js';
import { INSTALL_HINTS, requireBinary } from '../harness/requirements.js';
import { compatTargets } from '../harness/targets.js';
import { useCluster } from '../harness/use-cluster.js';

const haveEtcdctl = requireBinary('etcdctl', INSTALL_HINTS.etcdctl);

/** Metrics etcd 3.4 exposes on a single member, with their types. */
const ETCD_METRICS: ReadonlyArray<readonly [string, string]> = [
  ['etcd_server_has_leader', 'gauge'],
  ['etcd_server_is_leader', 'gauge'],
  ['etcd_server_leader_changes_seen_total', 'counter'],
  ['etcd_server_proposals_committed_total', 'gauge'],
  ['etcd_server_proposals_applied_total', 'gauge'],
  ['etcd_server_proposals_pending', 'gauge'],
  ['etcd_server_proposals_failed_total', 'counter'],
  ['etcd_server_health_success', 'counter'],
  ['etcd_server_health_failures', 'counter'],
  ['etcd_server_quota_backend_bytes', 'gauge'],
  ['etcd_server_id', 'gauge'],
  ['etcd_server_version', 'gauge'],
  ['etcd_cluster_version', 'gauge'],
  ['etcd_disk_wal_fsync_duration_seconds', 'histogram'],
  ['etcd_disk_backend_commit_duration_seconds', 'histogram'],
  ['etcd_mvcc_db_total_size_in_bytes', 'gauge'],
  ['etcd_mvcc_db_total_size_in_use_in_bytes', 'gauge'],
  ['etcd_debugging_mvcc_db_total_size_in_bytes', 'gauge'],
  ['etcd_debugging_mvcc_keys_total', 'gauge'],
  ['process_cpu_seconds_total', 'counter'],
  ['process_open_fds', 'gauge'],
  ['process_resident_memory_bytes', 'gauge'],
];

/** etcd's wal and backend buckets: 1 ms doubling to 8.192 s. */
const DISK_BUCKETS = ['0.001', '0.002', '0.004', '0.008', '0.016', '0.032', '0.064', '0.128', '0.256', '0.512', '1.024', '2.048', '4.096', '8.192', '+Inf'];

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'access-control-allow-headers': 'accept, content-type, authorization',
};

async function get(url: string, init?: RequestInit): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(url, init);
  return { status: r.status, body: await r.text(), headers: r.headers };
}

// One metrics port per target: the etcd member may still hold its port while kvfleet's starts.
const metricsPorts = { etcd: await freePort(), kvfleet: await freePort() };

for (const target of compatTargets()) {
  describe.skipIf(!target.enabled || !haveEtcdctl)(`HTTP endpoints of ${target.kind} (1 member)`, () => {
    const metricsPort = metricsPorts[target.kind];
    const cluster = useCluster({ kind: target.kind, size: 1, extraArgs: [`--listen-metrics-urls=http://127.0.0.1:${metricsPort}`] });
    const base = (): string => cluster().clientUrls[0]!;
    const metricsBase = `http://127.0.0.1:${metricsPort}`;

    it('GET /health: 200 {"health":"true"} as text/plain with CORS headers', async () => {
      const h = await get(`${base()}/health`);
      expect(h.status).toBe(200);
      expect(h.body).toBe('{"health":"true"}');
      expect(h.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      for (const [k, v] of Object.entries(CORS)) expect(h.headers.get(k)).toBe(v);
    });

    it('/health refuses other methods with 405 and Allow: GET', async () => {
      const r = await get(`${base()}/health`, { method: 'POST' });
      expect(r.status).toBe(405);
      expect(r.headers.get('allow')).toBe('GET');
      expect(r.body).toBe('Method Not Allowed\n');
      expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    });

    it('GET /version: {"etcdserver","etcdcluster"} as application/json', async () => {
      const r = await get(`${base()}/version`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/json');
      const v = JSON.parse(r.body) as Record<string, string>;
      expect(Object.keys(v)).toEqual(['etcdserver', 'etcdcluster']);
      expect(v.etcdserver).toMatch(/^3\.\d+\.\d+$/);
      expect(v.etcdcluster).toMatch(/^3\.\d+\.0$/);
      if (target.kind === 'kvfleet') expect(v).toEqual({ etcdserver: '3.5.0', etcdcluster: '3.5.0' });
    });

    it('an unknown path gets Go\'s 404 text', async () => {
      const r = await get(`${base()}/no-such-endpoint`);
      expect(r.status).toBe(404);
      expect(r.body).toBe('404 page not found\n');
    });

    it('GET /metrics: Prometheus text with etcd\'s names, types and buckets', async () => {
      await etcdctlOk(cluster().clientUrls, ['put', 'metrics/k', 'v']);
      const r = await get(`${base()}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      for (const [name, type] of ETCD_METRICS) expect(r.body, name).toContain(`# TYPE ${name} ${type}\n`);
      expect(r.body).toMatch(/^etcd_server_has_leader 1$/m);
      expect(r.body).toMatch(/^etcd_server_is_leader 1$/m);
      expect(r.body).toMatch(/^etcd_server_leader_changes_seen_total 1$/m);
      expect(r.body).toMatch(/^etcd_server_proposals_pending 0$/m);
      expect(r.body).toMatch(/^etcd_server_id\{server_id="[0-9a-f]+"\} 1$/m);
      expect(r.body).toMatch(/^etcd_cluster_version\{cluster_version="3\.\d+"\} 1$/m);
      expect(r.body).toMatch(/^etcd_debugging_mvcc_keys_total [1-9]\d*$/m);
      expect(r.body).toMatch(/^etcd_mvcc_db_total_size_in_bytes [1-9]\d*$/m);
      expect(r.body).toMatch(/^etcd_server_proposals_applied_total [1-9]\d*$/m);
      for (const hist of ['etcd_disk_wal_fsync_duration_seconds', 'etcd_disk_backend_commit_duration_seconds']) {
        const les = [...r.body.matchAll(new RegExp(`^${hist}_bucket\\{le="([^"]+)"\\}`, 'gm'))].map((m) => m[1]);
        expect(les, hist).toEqual(DISK_BUCKETS);
        expect(r.body).toMatch(new RegExp(`^${hist}_count [1-9]\\d*$`, 'm'));
      }
    });

    it('--listen-metrics-urls serves /metrics and /health, no /version, no CORS headers', async () => {
      const h = await get(`${metricsBase}/health`);
      expect(h.status).toBe(200);
      expect(h.body).toBe('{"health":"true"}');
      expect(h.headers.get('access-control-allow-origin')).toBeNull();
      const m = await get(`${metricsBase}/metrics`);
      expect(m.status).toBe(200);
      expect(m.body).toContain('# TYPE etcd_server_has_leader gauge\n');
      const v = await get(`${metricsBase}/version`);
      expect(v.status).toBe(404);
      expect(v.body).toBe('404 page not found\n');
    });

    it('etcdctl endpoint health still works over gRPC on the same port', async () => {
      // etcdctl 3.4 prints the verdict on stderr.
      const r = await etcdctl(cluster().clientUrls, ['endpoint', 'health']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^http:\/\/127\.0\.0\.1:\d+ is healthy: successfully committed proposal: took = /);
    });

    it.skipIf(target.kind !== 'kvfleet')('kvfleet only (etcd 3.5 endpoints): /livez and /readyz answer ok', async () => {
      for (const url of [base(), metricsBase]) {
        expect(await get(`${url}/livez`)).toMatchObject({ status: 200, body: 'ok\n' });
        expect(await get(`${url}/readyz`)).toMatchObject({ status: 200, body: 'ok\n' });
        expect((await get(`${url}/readyz?verbose`)).body).toContain('[+]linearizable_read ok\n');
      }
    });
  });
}
