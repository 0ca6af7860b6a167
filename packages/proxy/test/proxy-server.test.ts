// The whole proxy in front of a real etcd: readiness, reads and writes through it, forwarded
// and coalesced Lease calls, and MemberList from the resolver registrations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proto } from '@kvfleet/core';
import { ProxyServer } from '../src/proxy-server.js';
import { freePort, needEtcd, startEtcd, type EtcdProcess } from './etcd-process.js';

describe.runIf(needEtcd)('ProxyServer (etcd 3.4 upstream)', () => {
  let etcd: EtcdProcess;
  let proxy: ProxyServer;
  let address: string;
  let readyBefore: number;

  beforeAll(async () => {
    etcd = await startEtcd();
    proxy = await ProxyServer.start({ endpoints: [etcd.endpoint], listenClientUrls: ['http://127.0.0.1:0'], resolverPrefix: 'kvfleet-proxies', resolverTtlSec: 5 });
    address = `127.0.0.1:${String(proxy.ports[0])}`;
    readyBefore = (await fetch(`http://${address}/livez`)).status;
    await proxy.whenReady();
  }, 20_000);
  afterAll(async () => {
    await proxy?.close();
    await etcd?.stop();
  });

  it('serves health, KV and Lease through one port', async () => {
    expect(readyBefore).toBe(200);
    expect((await fetch(`http://${address}/readyz`)).status).toBe(200);
    expect(await (await fetch(`http://${address}/health`)).json()).toEqual({ health: 'true' });
    expect(await (await fetch(`http://${address}/metrics`)).text()).toContain('kvfleet_proxy_cache_revision');
    const kv = proto.createClient('KV', address);
    const lease = proto.createClient('Lease', address);
    try {
      const g = await proto.unaryCall(lease.LeaseGrant.bind(lease), { TTL: 30 });
      const put = await proto.unaryCall(kv.Put.bind(kv), { key: Buffer.from('p/a'), value: Buffer.from('1'), lease: g.ID });
      const got = await proto.unaryCall(kv.Range.bind(kv), { key: Buffer.from('p/a') });
      expect(Buffer.from(got.kvs[0]!.value).toString()).toBe('1');
      expect(Number(got.header!.revision)).toBeGreaterThanOrEqual(Number(put.header!.revision));
      const s = lease.LeaseKeepAlive();
      const res = await new Promise<proto.Decoded<proto.LeaseKeepAliveResponse>>((resolve, reject) => {
        s.once('data', resolve);
        s.once('error', reject);
        s.write({ ID: g.ID });
      });
      expect(Number(res.ID)).toBe(Number(g.ID));
      expect(Number(res.TTL)).toBeGreaterThan(0);
      s.end();
      // An upstream error passes through with etcd's text.
      await expect(proto.unaryCall(lease.LeaseRevoke.bind(lease), { ID: 12345 })).rejects.toMatchObject({ details: 'etcdserver: requested lease not found' });
    } finally {
      kv.close();
      lease.close();
    }
  });

  it('exports watchers, events sent and lag on /metrics', async () => {
    const kv = proto.createClient('KV', address);
    const watch = proto.createClient('Watch', address);
    const stream = watch.Watch();
    try {
      const events = new Promise<void>((resolve, reject) => {
        stream.on('data', (r: proto.Decoded<proto.WatchResponse>) => {
          if (r.events.length > 0) resolve();
        });
        stream.once('error', reject);
      });
      const created = new Promise<void>((resolve) => stream.once('data', () => resolve()));
      stream.write({ createRequest: { key: Buffer.from('m/'), rangeEnd: Buffer.from('m0') } });
      await created;
      await proto.unaryCall(kv.Put.bind(kv), { key: Buffer.from('m/a'), value: Buffer.from('1') });
      await events;
      const text = await (await fetch(`http://${address}/metrics`)).text();
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
      expect(value('kvfleet_proxy_watchers')).toBe(1);
      expect(value('kvfleet_proxy_watch_events_sent_total')).toBeGreaterThanOrEqual(1);
      expect(value('kvfleet_proxy_upstream_lag_revisions')).toBe(0);
      expect(value('kvfleet_proxy_upstream_lag_seconds')).toBe(0);
      expect(value('kvfleet_proxy_cache_keys')).toBeGreaterThanOrEqual(1);
    } finally {
      stream.cancel();
      kv.close();
      watch.close();
    }
  });

  it('answers MemberList with the registered proxies', async () => {
    const cluster = proto.createClient('Cluster', address);
    try {
      const deadline = Date.now() + 5000;
      let urls: string[] = [];
      while (Date.now() < deadline) {
        const r = await proto.unaryCall(cluster.MemberList.bind(cluster), {});
        urls = r.members.flatMap((m) => m.clientURLs);
        if (urls.length > 0) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(urls).toEqual([`http://${address}`]);
    } finally {
      cluster.close();
    }
  });
});

describe('ProxyServer before its cache is synced', () => {
  it('is live but not ready while no member answers, and forwarded reads fail with UNAVAILABLE', async () => {
    const dead = `127.0.0.1:${String(await freePort())}`;
    const proxy = await ProxyServer.start({ endpoints: [dead], listenClientUrls: ['http://127.0.0.1:0'] });
    const address = `127.0.0.1:${String(proxy.ports[0])}`;
    const kv = proto.createClient('KV', address);
    try {
      expect((await fetch(`http://${address}/livez`)).status).toBe(200);
      const readyz = await fetch(`http://${address}/readyz`);
      expect(readyz.status).toBe(503);
      expect(await readyz.text()).toContain('not synced');
      expect(await (await fetch(`http://${address}/health`)).json()).toEqual({ health: 'false' });
      await expect(proto.unaryCall(kv.Range.bind(kv), { key: Buffer.from('k') }, undefined, { deadline: Date.now() + 3_000 })).rejects.toMatchObject({
        code: 14,
      });
    } finally {
      kv.close();
      await proxy.close();
    }
  }, 20_000);
});
