// The proxy's KV and Watch services over a watch cache fed by hand, with a scripted upstream:
// which reads come from the cache, which wait, which are forwarded, and what watches see.
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { proto, WatchCache, type KeyValue } from '@kvfleet/core';
import { kvService } from '../src/api/kv-service.js';
import { watchService } from '../src/api/watch-service.js';
import { CachePipeline } from '../src/cache-pipeline.js';
import type { ProxyContext } from '../src/context.js';
import { ProxyMetrics } from '../src/proxy-metrics.js';
import { SessionTable } from '../src/session-table.js';

const enc = (s: string) => new Uint8Array(Buffer.from(s));
const dec = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString();
const kv = (key: string, value: string, rev: number, created = rev, version = 1): KeyValue => ({
  key: enc(key),
  value: enc(value),
  createRevision: created,
  modRevision: rev,
  version,
  lease: 0,
});

interface Rig {
  cache: WatchCache;
  pipeline: CachePipeline;
  clusterRevision: number;
  forwarded: string[];
  kv: proto.ServiceClient<'KV'>;
  watch: proto.ServiceClient<'Watch'>;
  close(): Promise<void>;
}

async function rig(): Promise<Rig> {
  const cache = new WatchCache({ windowRevisionsMax: 5 });
  const pipeline = new CachePipeline(cache);
  const state = { clusterRevision: 0, forwarded: [] as string[] };
  const ctx: ProxyContext = {
    cache,
    upstream: undefined as never,
    feed: undefined as never,
    hub: pipeline.hub,
    waiters: pipeline.waiters,
    sessions: new SessionTable(),
    metrics: new ProxyMetrics({ cache, hub: () => pipeline.hub, lagRevisions: () => Math.max(0, state.clusterRevision - cache.revision), lagMs: () => 0 }),
    readWaitMs: 300,
    isReady: () => true,
    clusterRevision: () => Promise.resolve(state.clusterRevision),
    forwardRange: (req) => {
      state.forwarded.push(`range ${dec(req.key)}@${String(req.revision ?? 0)}`);
      return Promise.resolve({ header: { revision: 99 }, kvs: [], more: false, count: 0 } as unknown as proto.Decoded<proto.RangeResponse>);
    },
    forwardWrite: (method) => {
      state.forwarded.push(method);
      return Promise.resolve({ header: { revision: cache.revision + 1 } });
    },
    header: (revision) => ({ clusterId: 1, memberId: 2, revision, raftTerm: 3 }),
  };
  const server = new grpc.Server();
  server.addService(proto.serviceDefinition('KV'), kvService(ctx));
  server.addService(proto.serviceDefinition('Watch'), watchService(ctx));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const address = `127.0.0.1:${String(port)}`;
  const r: Rig = {
    cache,
    pipeline,
    get clusterRevision() {
      return state.clusterRevision;
    },
    set clusterRevision(v: number) {
      state.clusterRevision = v;
    },
    forwarded: state.forwarded,
    kv: proto.createClient('KV', address),
    watch: proto.createClient('Watch', address),
    close: async () => {
      r.kv.close();
      r.watch.close();
      pipeline.close();
      server.forceShutdown();
    },
  };
  return r;
}

function apply(r: Rig, rev: number, key: string, value: string): void {
  r.cache.apply(rev, [{ type: 'put', kv: kv(key, value, rev) }]);
  r.pipeline.revisionApplied(rev);
}

describe('proxy KV and Watch over the cache', () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    r.cache.reset(10, [kv('a', '1', 5), kv('b', '1', 7)]);
    r.pipeline.reset(10);
    r.clusterRevision = 10;
  });
  afterEach(async () => r.close());

  it('answers serializable and linearizable reads from the cache, with a member-like header', async () => {
    const s = await proto.unaryCall(r.kv.Range.bind(r.kv), { key: enc('a'), rangeEnd: enc('c'), serializable: true });
    expect(s.kvs.map((x) => dec(x.key))).toEqual(['a', 'b']);
    expect(Number(s.header!.revision)).toBe(10);
    expect(Number(s.count)).toBe(2);
    const l = await proto.unaryCall(r.kv.Range.bind(r.kv), { key: enc('a') });
    expect(dec(l.kvs[0]!.value)).toBe('1');
    expect(r.forwarded).toEqual([]);
  });

  it('holds a linearizable read until the cache reaches the cluster revision', async () => {
    r.clusterRevision = 11;
    const pending = proto.unaryCall(r.kv.Range.bind(r.kv), { key: enc('a') });
    await new Promise((res) => setTimeout(res, 50));
    apply(r, 11, 'a', '2');
    const res = await pending;
    expect(dec(res.kvs[0]!.value)).toBe('2');
    expect(Number(res.header!.revision)).toBe(11);
    expect(r.forwarded).toEqual([]);
  });

  it('forwards a read the cache cannot reach in time, and one older than the window', async () => {
    r.clusterRevision = 12;
    await proto.unaryCall(r.kv.Range.bind(r.kv), { key: enc('a') });
    expect(r.forwarded).toEqual(['range a@0']);
    for (let rev = 11; rev <= 17; rev++) apply(r, rev, 'a', String(rev));
    r.clusterRevision = 17;
    await proto.unaryCall(r.kv.Range.bind(r.kv), { key: enc('a'), revision: 11, serializable: true });
    expect(r.forwarded).toEqual(['range a@0', 'range a@11']);
  });

  it('serves a historical revision inside the window after checking it is not compacted upstream', async () => {
    apply(r, 11, 'a', '2');
    apply(r, 12, 'a', '3');
    r.clusterRevision = 12;
    const res = await proto.unaryCall(r.kv.Range.bind(r.kv), { key: enc('a'), revision: 11, serializable: true });
    expect(dec(res.kvs[0]!.value)).toBe('2');
    expect(r.forwarded).toEqual(['range \0@11']);
  });

  it("raises the session's floor with its writes, so it reads them even serializably", async () => {
    const put = await proto.unaryCall(r.kv.Put.bind(r.kv), { key: enc('a'), value: enc('w') });
    expect(Number(put.header!.revision)).toBe(11);
    const pending = proto.unaryCall(r.kv.Range.bind(r.kv), { key: enc('a'), serializable: true });
    await new Promise((res) => setTimeout(res, 50));
    apply(r, 11, 'a', 'w');
    expect(dec((await pending).kvs[0]!.value)).toBe('w');
  });

  it('streams watch events from the window and live, and cancels a start older than the window as compacted', async () => {
    apply(r, 11, 'a', '2');
    const stream = r.watch.Watch();
    const got: proto.Decoded<proto.WatchResponse>[] = [];
    stream.on('data', (m: proto.Decoded<proto.WatchResponse>) => got.push(m));
    stream.write({ createRequest: { key: enc('a'), startRevision: 11, prevKv: true } });
    await new Promise((res) => setTimeout(res, 50));
    apply(r, 12, 'a', '3');
    for (let rev = 13; rev <= 20; rev++) apply(r, rev, 'z', String(rev));
    stream.write({ createRequest: { key: enc('a'), startRevision: 11, watchId: 7 } });
    await new Promise((res) => setTimeout(res, 150));
    stream.on('error', () => undefined);
    stream.cancel();
    const events = got.filter((m) => Number(m.watchId) === 0).flatMap((m) => m.events);
    expect(events.map((e) => [dec(e.kv!.value), Number(e.kv!.modRevision), dec(e.prevKv?.value)])).toEqual([
      ['2', 11, '1'],
      ['3', 12, '2'],
    ]);
    const canceled = got.find((m) => Number(m.watchId) === 7 && m.canceled);
    expect(canceled).toBeDefined();
    expect(Number(canceled!.compactRevision)).toBe(r.cache.oldestRevision);
  });
});
