// Upstream failover: idempotent calls move on past dead or unavailable members; a write that a
// member may have received (etcd's own UNAVAILABLE text) is not sent again elsewhere.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { proto } from '@kvfleet/core';
import { LeaderTracker } from '../src/upstream/leader-tracker.js';
import { Upstream } from '../src/upstream/upstream.js';
import { freePort } from './etcd-process.js';
import { TcpFaultProxy } from '../../../test/robustness/faults/tcp-fault-proxy.js';
import { fakeMember, type FakeMember } from './fake-upstream.js';

const unavailable = (details: string) => Object.assign(new Error(details), { code: grpc.status.UNAVAILABLE, details, metadata: new grpc.Metadata() });

describe('Upstream', () => {
  const members: FakeMember[] = [];
  let upstream: Upstream | undefined;
  afterEach(() => {
    upstream?.close();
    for (const m of members.splice(0)) m.close();
  });

  const healthy = async (tag: number, counts: { puts: number }) => {
    const m = await fakeMember({
      KV: {
        Range: (_call, cb) => cb(null, { header: { revision: tag }, kvs: [], count: 0 }),
        Put: (_call, cb) => {
          counts.puts++;
          cb(null, { header: { revision: tag } });
        },
      },
    });
    members.push(m);
    return m;
  };

  it('fails over from a dead endpoint, for reads and for writes that never left', async () => {
    const dead = `127.0.0.1:${String(await freePort())}`;
    const counts = { puts: 0 };
    const live = await healthy(7, counts);
    upstream = new Upstream([dead, `http://${live.endpoint}`], { callTimeoutMs: 3000 });
    const r = await upstream.unary<proto.Decoded<proto.RangeResponse>>('KV', 'Range', { key: Buffer.from('a') }, { idempotent: true });
    expect(Number(r.header!.revision)).toBe(7);
    expect(upstream.endpoint).toBe(live.endpoint);
    upstream.markFailed();
    expect(upstream.endpoint).toBe(dead);
    // Connection refused: the write cannot have reached a member, so it is sent to the next one.
    await upstream.unary('KV', 'Put', { key: Buffer.from('a') }, { idempotent: false });
    expect(counts.puts).toBe(1);
    expect(upstream.endpoint).toBe(live.endpoint);
  });

  it("retries reads on etcd's UNAVAILABLE but passes such write errors through unchanged", async () => {
    const sick = await fakeMember({
      KV: {
        Range: (_call, cb) => cb(unavailable('etcdserver: leader changed')),
        Put: (_call, cb) => cb(unavailable('etcdserver: request timed out')),
      },
    });
    members.push(sick);
    const counts = { puts: 0 };
    const live = await healthy(9, counts);
    upstream = new Upstream([sick.endpoint, live.endpoint]);
    const r = await upstream.unary<proto.Decoded<proto.RangeResponse>>('KV', 'Range', {}, { idempotent: true });
    expect(Number(r.header!.revision)).toBe(9);
    upstream.markFailed(); // back to the sick one
    await expect(upstream.unary('KV', 'Put', { key: Buffer.from('a') }, { idempotent: false })).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
      details: 'etcdserver: request timed out',
    });
    expect(counts.puts).toBe(0);
  });

  it('does not send a write again when the connection dropped after it left (it may have been applied)', async () => {
    const counts = { puts: 0 };
    let front: TcpFaultProxy | undefined;
    const m = await fakeMember({
      KV: {
        Put: () => {
          counts.puts++;
          // The connection drops mid-call: the write reached the member, the answer never comes.
          front?.set({ kind: 'reset' });
        },
      },
    });
    members.push(m);
    const [host, port] = m.endpoint.split(':') as [string, string];
    front = await TcpFaultProxy.start({ target: { host, port: Number(port) } });
    const other = { puts: 0 };
    const live = await healthy(3, other);
    upstream = new Upstream([`127.0.0.1:${String(front.port)}`, live.endpoint], { callTimeoutMs: 3000 });
    try {
      await expect(upstream.unary('KV', 'Put', { key: Buffer.from('a') }, { idempotent: false })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      expect(counts.puts).toBe(1);
      expect(other.puts).toBe(0);
    } finally {
      await front.close();
    }
  });

  it('does not retry other errors', async () => {
    const m = await fakeMember({
      KV: { Range: (_call, cb) => cb(Object.assign(new Error('x'), { code: grpc.status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision has been compacted' })) },
    });
    members.push(m);
    const counts = { puts: 0 };
    const live = await healthy(1, counts);
    upstream = new Upstream([m.endpoint, live.endpoint]);
    await expect(upstream.unary('KV', 'Range', {}, { idempotent: true })).rejects.toMatchObject({
      code: grpc.status.OUT_OF_RANGE,
      details: 'etcdserver: mvcc: required revision has been compacted',
    });
    expect(upstream.endpoint).toBe(m.endpoint);
  });

  it('sends writes to the leader once the tracker found it, and falls back when the leader dies', async () => {
    const leaderId = '18446744073709551000'; // member ids use all 64 bits
    const puts = { follower: 0, leader: 0 };
    let leaderEndpoint = '';
    const member = (role: 'follower' | 'leader') =>
      fakeMember({
        KV: {
          Put: (_call, cb) => {
            puts[role]++;
            cb(null, { header: { revision: 1 } });
          },
        },
        Maintenance: { Status: (_call, cb) => cb(null, { leader: leaderId }) },
        Cluster: {
          MemberList: (_call, cb) =>
            cb(null, { members: [{ ID: '42', clientURLs: ['http://127.0.0.1:1'] }, { ID: leaderId, clientURLs: [`http://${leaderEndpoint}`] }] }),
        },
      });
    const follower = await member('follower');
    const leader = await member('leader');
    members.push(follower, leader);
    leaderEndpoint = leader.endpoint;
    upstream = new Upstream([follower.endpoint, leader.endpoint]);
    const tracker = new LeaderTracker(upstream);
    await upstream.unary('KV', 'Put', {}, { idempotent: false, toLeader: true });
    expect(puts).toEqual({ follower: 1, leader: 0 }); // unknown yet: the current endpoint
    await tracker.refresh();
    expect(upstream.leader).toBe(leader.endpoint);
    expect(upstream.endpoint).toBe(follower.endpoint);
    await upstream.unary('KV', 'Put', {}, { idempotent: false, toLeader: true });
    await upstream.unary('KV', 'Put', {}, { idempotent: false }); // not asked to: the current one
    expect(puts).toEqual({ follower: 2, leader: 1 });
    // The leader dies: a write that cannot have reached it goes to the current endpoint instead.
    leader.close();
    await upstream.unary('KV', 'Put', {}, { idempotent: false, toLeader: true });
    expect(puts).toEqual({ follower: 3, leader: 1 });
    expect(upstream.leader).toBeUndefined();
    tracker.close();
  });

  it('a leader that is not one of the endpoints is not followed', async () => {
    const m = await fakeMember({
      Maintenance: { Status: (_call, cb) => cb(null, { leader: '7' }) },
      Cluster: { MemberList: (_call, cb) => cb(null, { members: [{ ID: '7', clientURLs: ['http://10.0.0.9:2379'] }] }) },
    });
    members.push(m);
    upstream = new Upstream([m.endpoint]);
    const tracker = new LeaderTracker(upstream);
    await tracker.refresh();
    expect(upstream.leader).toBeUndefined();
    tracker.close();
  });
});
