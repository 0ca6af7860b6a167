// The cache feed against a real single-member etcd: paged bootstrap at one revision, a broken
// watch resumed without gaps or repeats, a re-list when the upstream compacted past the cache,
// and batched linearizable revision checks.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { executeRange, normalizeRange, proto, WatchCache } from '@kvfleet/core';
import { CacheFeed } from '../src/upstream/cache-feed.js';
import { Upstream } from '../src/upstream/upstream.js';
import { needEtcd, startEtcd, type EtcdProcess } from './etcd-process.js';

const ALL = Uint8Array.of(0);
const enc = (s: string) => Buffer.from(s);

describe.runIf(needEtcd)('cache feed (etcd 3.4)', () => {
  let etcd: EtcdProcess;
  let kv: proto.ServiceClient<'KV'>;
  const put = (k: string, v: string) => proto.unaryCall(kv.Put.bind(kv), { key: enc(k), value: enc(v) });
  const del = (k: string) => proto.unaryCall(kv.DeleteRange.bind(kv), { key: enc(k) });
  const etcdAll = async () => {
    const r = await proto.unaryCall(kv.Range.bind(kv), { key: ALL, rangeEnd: ALL });
    return { revision: Number(r.header!.revision), kvs: r.kvs.map((x) => [Buffer.from(x.key).toString(), Buffer.from(x.value).toString(), Number(x.modRevision)]) };
  };
  const cacheAll = (cache: WatchCache) =>
    executeRange(cache, normalizeRange({ key: ALL, rangeEnd: ALL })).kvs.map((x) => [Buffer.from(x.key).toString(), Buffer.from(x.value).toString(), x.modRevision]);
  const until = async (cond: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  beforeAll(async () => {
    etcd = await startEtcd();
    kv = proto.createClient('KV', etcd.endpoint);
  }, 20_000);
  afterAll(async () => {
    kv?.close();
    await etcd?.stop();
  });

  it('lists the keyspace page by page at one revision, then follows the watch', async () => {
    for (let i = 0; i < 23; i++) await put(`boot/${String(i).padStart(2, '0')}`, `v${i}`);
    const upstream = new Upstream([etcd.endpoint]);
    const cache = new WatchCache();
    const spy = vi.spyOn(upstream, 'unary');
    const resets: number[] = [];
    const feed = new CacheFeed(upstream, cache, { pageSize: 5, onReset: (r) => resets.push(r) });
    feed.start();
    await feed.whenReady();
    const pages = spy.mock.calls.filter((c) => c[1] === 'Range');
    expect(pages.length).toBeGreaterThanOrEqual(5);
    // Every page after the first is pinned to the first page's revision.
    const pinned = pages.slice(1).map((c) => Number((c[2] as { revision: number }).revision));
    expect(new Set(pinned)).toEqual(new Set([resets[0]]));
    expect(cacheAll(cache)).toEqual((await etcdAll()).kvs);
    await put('boot/new', 'x');
    await del('boot/00');
    const want = await etcdAll();
    await until(() => cache.revision === want.revision);
    expect(cacheAll(cache)).toEqual(want.kvs);
    feed.close();
    upstream.close();
  });

  it('resumes a broken watch from the cache revision + 1: no gaps, no repeats', async () => {
    const upstream = new Upstream([etcd.endpoint]);
    const cache = new WatchCache();
    const applied: number[] = [];
    const feed = new CacheFeed(upstream, cache, { onRevision: (r) => applied.push(r) });
    feed.start();
    await feed.whenReady();
    const start = cache.revision;
    await put('resume/a', '1');
    await until(() => applied.length === 1);
    feed.reconnect();
    for (let i = 0; i < 6; i++) await put(`resume/${i}`, String(i));
    const want = await etcdAll();
    await until(() => cache.revision === want.revision);
    expect(applied).toEqual(Array.from({ length: want.revision - start }, (_, i) => start + 1 + i));
    expect(cacheAll(cache)).toEqual(want.kvs);
    feed.close();
    upstream.close();
  });

  it('lists again when the upstream compacted past the cache', async () => {
    const upstream = new Upstream([etcd.endpoint]);
    const cache = new WatchCache();
    const first = new CacheFeed(upstream, cache);
    first.start();
    await first.whenReady();
    first.close();
    const stale = cache.revision;
    for (let i = 0; i < 3; i++) await put(`compact/${i}`, String(i));
    const { revision } = await etcdAll();
    await proto.unaryCall(kv.Compact.bind(kv), { revision, physical: true });
    const resets: number[] = [];
    const second = new CacheFeed(upstream, cache, { onReset: (r) => resets.push(r) });
    second.start();
    await until(() => resets.length > 0);
    expect(resets[0]).toBeGreaterThanOrEqual(revision);
    expect(stale).toBeLessThan(revision);
    await until(() => second.ready);
    expect(cacheAll(cache)).toEqual((await etcdAll()).kvs);
    second.close();
    upstream.close();
  });

  it('answers concurrent revision checks with at most two upstream reads', async () => {
    const upstream = new Upstream([etcd.endpoint]);
    let checks = 0;
    const feed = new CacheFeed(upstream, new WatchCache(), { onRevisionCheck: () => checks++ });
    const { revision } = await etcdAll();
    const got = await Promise.all(Array.from({ length: 20 }, () => feed.currentRevision()));
    expect(checks).toBeLessThanOrEqual(2);
    for (const r of got) expect(r).toBe(revision);
    // A caller after a finished check gets a fresh one that sees newer writes.
    await put('check/x', '1');
    expect(await feed.currentRevision()).toBe(revision + 1);
    // A write acknowledged while a batch waits for its turn is covered by that batch's check.
    const before = checks;
    const waiting = Array.from({ length: 50 }, () => feed.currentRevision());
    await put('check/y', '1');
    const late = feed.currentRevision();
    for (const r of await Promise.all(waiting)) expect(r).toBeGreaterThanOrEqual(revision + 1);
    expect(await late).toBe(revision + 2);
    expect(checks - before).toBeLessThanOrEqual(2);
    upstream.close();
  });
});
