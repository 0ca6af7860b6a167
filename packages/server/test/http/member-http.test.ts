// A member's HTTP side in process: gRPC and HTTP on the client port, etcd's /health, /livez,
// /readyz, /version and /metrics, --listen-metrics-urls, HTTP plugins, and the health answers
// of a member without a leader or with an alarm raised.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { proto } from '@kvfleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientServer } from '../../src/embed/client-server.js';
import { EtcdServer } from '../../src/etcdserver/etcd-server.js';
import type { MemberConfig } from '../../src/etcdserver/member-config.js';
import { startMember, type RunningMember } from '../../src/embed/start-member.js';
import { testMemberConfig } from '../test-member-config.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function memberConfig(dir: string, extra: Partial<MemberConfig> & { peers?: string[] } = {}): Promise<MemberConfig> {
  const peer = `http://127.0.0.1:${await freePort()}`;
  const others = (extra.peers ?? []).map((u, i) => `other${i}=${u}`);
  const { peers: _peers, ...overrides } = extra;
  return testMemberConfig(
    { name: 'm', dir, dataSubdir: 'data', peerUrl: peer, initialCluster: [`m=${peer}`, ...others].join(','), token: 'http-test' },
    overrides,
  );
}

async function get(url: string): Promise<{ status: number; type: string | null; body: string; headers: Headers }> {
  const r = await fetch(url);
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text(), headers: r.headers };
}

async function waitFor(fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a healthy single member', () => {
  let dir: string;
  let member: RunningMember;
  let base: string;
  let metricsBase: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kvfleet-http-'));
    member = await startMember(await memberConfig(dir, { listenMetricsUrls: ['http://127.0.0.1:0'] }));
    base = `http://127.0.0.1:${member.clientPorts[0]}`;
    metricsBase = `http://127.0.0.1:${member.metricsPorts[0]}`;
    await waitFor(async () => (await get(`${base}/health`)).status === 200);
  }, 30_000);

  afterAll(async () => {
    await member?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers gRPC on the same port as HTTP', async () => {
    const kv = proto.createClient('KV', `127.0.0.1:${member.clientPorts[0]}`);
    try {
      await proto.unaryCall(kv.Put.bind(kv), { key: Buffer.from('k'), value: Buffer.from('v') });
      const got = await proto.unaryCall(kv.Range.bind(kv), { key: Buffer.from('k') });
      expect(Buffer.from(got.kvs[0]!.value).toString()).toBe('v');
    } finally {
      kv.close();
    }
  });

  it('/health as etcd 3.4: {"health":"true"}, text/plain, CORS headers; other methods 405', async () => {
    const h = await get(`${base}/health`);
    expect(h).toMatchObject({ status: 200, type: 'text/plain; charset=utf-8', body: '{"health":"true"}' });
    expect(h.headers.get('access-control-allow-origin')).toBe('*');
    const post = await fetch(`${base}/health`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    expect(await post.text()).toBe('Method Not Allowed\n');
  });

  it('/livez and /readyz as etcd 3.5: ok, verbose lists, per-check paths', async () => {
    expect(await get(`${base}/livez`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await get(`${base}/readyz?verbose`)).body).toBe(
      '[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\n[+]non_learner ok\nok\n',
    );
    expect((await get(`${base}/readyz?verbose&exclude=non_learner`)).body).not.toContain('non_learner');
    expect(await get(`${base}/readyz/linearizable_read?verbose`)).toMatchObject({ status: 200, body: '[+]linearizable_read ok\nok\n' });
    expect((await get(`${base}/readyz/nonsense`)).status).toBe(404);
  });

  it('/version names the API version; unknown paths get Go\'s 404 text', async () => {
    expect(await get(`${base}/version`)).toMatchObject({ status: 200, body: '{"etcdserver":"3.5.0","etcdcluster":"3.5.0"}' });
    expect(await get(`${base}/no/such/path`)).toMatchObject({ status: 404, body: '404 page not found\n' });
  });

  it('/metrics has etcd\'s names with live values', async () => {
    const m = await get(`${base}/metrics`);
    expect(m.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(m.body).toContain('etcd_server_has_leader 1');
    expect(m.body).toContain('etcd_server_is_leader 1');
    expect(m.body).toMatch(/^etcd_server_leader_changes_seen_total 1$/m);
    expect(m.body).toMatch(/^etcd_server_id\{server_id="[0-9a-f]+"\} 1$/m);
    expect(m.body).toContain('etcd_cluster_version{cluster_version="3.5"} 1');
    expect(m.body).toMatch(/^etcd_disk_wal_fsync_duration_seconds_bucket\{le="8.192"\} [1-9]/m);
    expect(m.body).toMatch(/^etcd_disk_backend_commit_duration_seconds_count [1-9]/m);
    expect(m.body).toMatch(/^etcd_debugging_mvcc_keys_total [1-9]/m);
    expect(m.body).toMatch(/^etcd_mvcc_db_total_size_in_bytes [1-9]/m);
    expect(m.body).toMatch(/^process_cpu_seconds_total /m);
    const applied = Number(/^etcd_server_proposals_applied_total (\d+)$/m.exec(m.body)![1]);
    const committed = Number(/^etcd_server_proposals_committed_total (\d+)$/m.exec(m.body)![1]);
    expect(applied).toBeGreaterThan(0);
    expect(committed).toBeGreaterThanOrEqual(applied);
    expect(m.body).toContain('etcd_server_proposals_pending 0');
  });

  it('--listen-metrics-urls serve /metrics and health but not /version, without CORS headers', async () => {
    const h = await get(`${metricsBase}/health`);
    expect(h).toMatchObject({ status: 200, body: '{"health":"true"}' });
    expect(h.headers.get('access-control-allow-origin')).toBeNull();
    expect((await get(`${metricsBase}/metrics`)).body).toContain('etcd_server_has_leader 1');
    expect((await get(`${metricsBase}/readyz`)).body).toBe('ok\n');
    expect((await get(`${metricsBase}/version`)).status).toBe(404);
  });

  it('/health turns false while an alarm is raised, unless excluded', async () => {
    const maint = proto.createClient('Maintenance', `127.0.0.1:${member.clientPorts[0]}`);
    const alarm = (action: number) =>
      proto.unaryCall(maint.Alarm.bind(maint), { action, memberID: member.server.memberId, alarm: proto.AlarmType.NOSPACE });
    try {
      await alarm(proto.AlarmAction.ACTIVATE);
      const h = await get(`${base}/health`);
      expect(h).toMatchObject({ status: 503, body: '{"health":"false"}\n' });
      expect(h.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await get(`${base}/health?exclude=NOSPACE`)).toMatchObject({ status: 200, body: '{"health":"true"}' });
      // readyz only cares about CORRUPT.
      expect((await get(`${base}/readyz`)).status).toBe(200);
      const m = (await get(`${base}/metrics`)).body;
      expect(m).toMatch(/^etcd_server_health_failures [1-9]/m);
    } finally {
      await alarm(proto.AlarmAction.DEACTIVATE);
      maint.close();
    }
    expect((await get(`${base}/health`)).status).toBe(200);
  });
});

describe('a member without a leader', () => {
  let dir: string;
  let server: EtcdServer;
  let client: ClientServer;
  let base: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kvfleet-http-noleader-'));
    // The second founding member never starts: no quorum, no leader.
    server = await EtcdServer.start(await memberConfig(dir, { peers: [`http://127.0.0.1:${await freePort()}`] }));
    client = new ClientServer(server, {
      httpPlugins: [
        (app, ctx) => {
          app.get('/plugin', async () => ({ grpc: ctx.grpcAddress(), member: ctx.member.memberId }));
        },
      ],
    });
    await client.listen(['http://127.0.0.1:0']);
    base = `http://127.0.0.1:${client.ports[0]}`;
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('/health answers 503 {"health":"false"}', async () => {
    expect(await get(`${base}/health`)).toMatchObject({ status: 503, type: 'text/plain; charset=utf-8', body: '{"health":"false"}\n' });
  });

  it('/livez is ok (the process serves) but /readyz fails on the linearizable read', async () => {
    expect(await get(`${base}/livez`)).toMatchObject({ status: 200, body: 'ok\n' });
    const r = await get(`${base}/readyz`);
    expect(r.status).toBe(503);
    expect(r.body).toBe(
      '[+]data_corruption ok\n[+]serializable_read ok\n[-]linearizable_read failed: etcdserver: no leader\n[+]non_learner ok\n\n',
    );
    expect((await get(`${base}/readyz?exclude=linearizable_read`)).status).toBe(200);
  });

  it('/metrics reports no leader', async () => {
    const m = (await get(`${base}/metrics`)).body;
    expect(m).toContain('etcd_server_has_leader 0');
    expect(m).toContain('etcd_server_is_leader 0');
    expect(m).toContain('etcd_server_leader_changes_seen_total 0');
  });

  it('runs HTTP plugins with the member and its gRPC address', async () => {
    const r = await get(`${base}/plugin`);
    expect(JSON.parse(r.body)).toEqual({ grpc: `127.0.0.1:${client.ports[0]}`, member: server.memberId });
  });
});
