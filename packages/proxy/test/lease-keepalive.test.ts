// Lease keep-alives from many client streams share one upstream stream: one upstream request
// per lease in flight, answers routed to every stream waiting on that lease, and a broken
// upstream stream reopened (on the next endpoint) with the waiting leases sent again.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { proto } from '@kvfleet/core';
import { LeaseKeepAliveCoalescer } from '../src/api/lease-keepalive.js';
import { Upstream } from '../src/upstream/upstream.js';
import { fakeMember, type FakeMember } from './fake-upstream.js';

type Res = proto.Decoded<proto.LeaseKeepAliveResponse>;

describe('LeaseKeepAlive coalescing', () => {
  const closers: Array<() => void> = [];
  afterEach(() => {
    for (const c of closers.splice(0).reverse()) c();
  });

  /** A member answering keep-alives after `delayMs`, counting requests and streams. */
  const member = async (delayMs: number, stats = { requests: 0, streams: 0 }, breakFirst = false): Promise<FakeMember & { stats: typeof stats }> => {
    const m = await fakeMember({
      Lease: {
        LeaseKeepAlive: (call) => {
          stats.streams++;
          call.on('data', (req: proto.LeaseKeepAliveRequest) => {
            stats.requests++;
            if (breakFirst) {
              call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'going away' });
              return;
            }
            const id = Number(req.ID);
            setTimeout(() => call.write({ header: { revision: 3 }, ID: id, TTL: id === 99 ? 0 : 30 }), delayMs);
          });
          call.on('end', () => call.end());
        },
      },
    });
    closers.push(() => m.close());
    return Object.assign(m, { stats });
  };

  const proxyFor = async (upstream: Upstream) => {
    const coalescer = new LeaseKeepAliveCoalescer(upstream, { maxPendingPerStream: 4 });
    const server = new grpc.Server();
    server.addService(proto.serviceDefinition('Lease') as grpc.ServiceDefinition, { LeaseKeepAlive: coalescer.handler() } as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const client = proto.createClient('Lease', `127.0.0.1:${String(port)}`);
    closers.push(() => {
      upstream.close();
      server.forceShutdown();
    });
    closers.push(() => {
      client.close();
      coalescer.close();
    });
    return { coalescer, client };
  };

  const open = (client: proto.ServiceClient<'Lease'>) => {
    const s = client.LeaseKeepAlive();
    const got: Res[] = [];
    const waiters: Array<() => void> = [];
    s.on('data', (r: Res) => {
      got.push(r);
      for (const w of waiters.splice(0)) w();
    });
    s.on('error', () => undefined);
    const next = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out with ${String(got.length)} answers`)), 5000);
        const check = () => {
          if (got.length >= n) {
            clearTimeout(t);
            resolve();
          } else waiters.push(check);
        };
        check();
      });
    return { s, got, next };
  };

  it('sends one upstream request per lease in flight and answers every waiting stream', async () => {
    const m = await member(150);
    const { coalescer, client } = await proxyFor(new Upstream([m.endpoint]));
    const a = open(client);
    const b = open(client);
    const c = open(client);
    a.s.write({ ID: 5 });
    a.s.write({ ID: 5 }); // a repeat while waiting is covered by the same answer
    b.s.write({ ID: 5 });
    c.s.write({ ID: 6 });
    c.s.write({ ID: 99 });
    await Promise.all([a.next(1), b.next(1), c.next(2)]);
    expect(m.stats.streams).toBe(1);
    expect(m.stats.requests).toBe(3);
    expect(coalescer.upstreamRequests).toBe(3);
    expect(a.got.map((r) => [Number(r.ID), Number(r.TTL)])).toEqual([[5, 30]]);
    expect(b.got.map((r) => [Number(r.ID), Number(r.TTL)])).toEqual([[5, 30]]);
    expect(c.got.map((r) => [Number(r.ID), Number(r.TTL)]).sort()).toEqual([[6, 30], [99, 0]]);
    expect(Number(a.got[0]!.header!.revision)).toBe(3);
    // The next round is a new upstream request on the same stream.
    a.s.write({ ID: 5 });
    await a.next(2);
    expect(m.stats.requests).toBe(4);
    expect(m.stats.streams).toBe(1);
    expect(coalescer.pendingIds).toBe(0);
  });

  it('reopens a broken upstream stream on the next endpoint and resends waiting leases', async () => {
    const bad = await member(0, { requests: 0, streams: 0 }, true);
    const good = await member(10);
    const { client } = await proxyFor(new Upstream([bad.endpoint, good.endpoint]));
    const a = open(client);
    a.s.write({ ID: 7 });
    await a.next(1);
    expect(Number(a.got[0]!.ID)).toBe(7);
    expect(bad.stats.requests).toBe(1);
    expect(good.stats.requests).toBe(1);
  });

  it('a client that half-closes after its request still gets the answer, then the stream ends', async () => {
    const m = await member(100);
    const { client, coalescer } = await proxyFor(new Upstream([m.endpoint]));
    const a = open(client);
    const ended = new Promise<void>((resolve) => a.s.on('end', () => resolve()));
    a.s.write({ ID: 8 });
    a.s.end();
    await a.next(1);
    await ended;
    expect(a.got.map((r) => [Number(r.ID), Number(r.TTL)])).toEqual([[8, 30]]);
    expect(coalescer.pendingIds).toBe(0);
  });

  it('bounds the leases one stream may wait on', async () => {
    const m = await member(200);
    const { client } = await proxyFor(new Upstream([m.endpoint]));
    const a = open(client);
    for (let id = 1; id <= 10; id++) a.s.write({ ID: id });
    await a.next(4);
    await new Promise((r) => setTimeout(r, 300));
    expect(a.got.length).toBe(4);
    expect(m.stats.requests).toBe(4);
  });
});
