// The v3election service on an in-process member: campaign, leader, proclaim, resign, observe,
// cancellation and errors, with the answers etcd 3.4 gives (see test/compat/lock-election.test.ts).
import type * as grpc from '@grpc/grpc-js';
import type { proto } from '@kvfleet/core';
import { describe, expect, it } from 'vitest';
import { bytes, call, eventually, failure, num, openHubStreams, sleep, stillPending, text, useMembers } from './helpers.js';

type LeaderResponse = proto.Decoded<proto.LeaderResponse>;

/** Collects an Observe stream's responses. */
function observe(client: proto.ServiceClient<'Election'>, name: string) {
  const got: LeaderResponse[] = [];
  const stream = client.Observe({ name: bytes(name) });
  let error: grpc.ServiceError | undefined;
  let ended = false;
  stream.on('data', (r: LeaderResponse) => got.push(r));
  stream.on('error', (e: grpc.ServiceError) => (error = e));
  stream.on('end', () => (ended = true));
  return {
    got,
    stream,
    error: () => error,
    ended: () => ended,
    async waitFor(n: number): Promise<LeaderResponse[]> {
      await eventually(async () => got.length >= n);
      return got.slice(0, n);
    },
  };
}

describe('v3election on a kvfleet member', () => {
  const members = useMembers(1);
  const m = () => members()[0]!;
  const grant = async (ttl: number) => num((await call(m().lease, 'LeaseGrant', { TTL: ttl })).ID);

  it('Leader of an election nobody campaigns in: UNKNOWN "election: no leader"', async () => {
    expect(await failure(call(m().election, 'Leader', { name: bytes('e-none') }))).toEqual({ code: 2, details: 'election: no leader' });
  });

  it('Campaign answers the LeaderKey; Leader reads the leader key-value', async () => {
    const lease = await grant(30);
    const res = await call(m().election, 'Campaign', { name: bytes('e-basic'), lease, value: bytes('v1') });
    const rev = num(res.header!.revision);
    expect(text(res.leader!.name)).toBe('e-basic');
    expect(text(res.leader!.key)).toBe(`e-basic/${lease.toString(16)}`);
    expect(num(res.leader!.rev)).toBe(rev);
    expect(num(res.leader!.lease)).toBe(lease);
    const leader = await call(m().election, 'Leader', { name: bytes('e-basic') });
    expect(num(leader.header!.revision)).toBe(rev);
    expect(text(leader.kv!.key)).toBe(`e-basic/${lease.toString(16)}`);
    expect(text(leader.kv!.value)).toBe('v1');
    expect(num(leader.kv!.createRevision)).toBe(rev);
    expect(num(leader.kv!.lease)).toBe(lease);

    // Campaigning again with the same lease resumes the candidacy and updates its value; the
    // header is the campaign txn's (the update comes one revision later).
    const again = await call(m().election, 'Campaign', { name: bytes('e-basic'), lease, value: bytes('v2') });
    expect(num(again.header!.revision)).toBe(rev);
    expect(num(again.leader!.rev)).toBe(rev);
    const after = await call(m().election, 'Leader', { name: bytes('e-basic') });
    expect(text(after.kv!.value)).toBe('v2');
    expect(num(after.kv!.modRevision)).toBe(rev + 1);
  });

  it('a second candidate waits; Proclaim updates the value; Resign hands over', async () => {
    const a = await grant(30);
    const b = await grant(30);
    const ca = await call(m().election, 'Campaign', { name: bytes('e-two'), lease: a, value: bytes('A1') });
    const cb = call(m().election, 'Campaign', { name: bytes('e-two'), lease: b, value: bytes('B1') });
    expect(await stillPending(cb, 300)).toBe(true);

    const pr = await call(m().election, 'Proclaim', { leader: ca.leader!, value: bytes('A2') });
    expect(text((await call(m().election, 'Leader', { name: bytes('e-two') })).kv!.value)).toBe('A2');
    const stale = { ...ca.leader!, rev: num(ca.leader!.rev) + 1000 };
    expect(await failure(call(m().election, 'Proclaim', { leader: stale, value: bytes('x') }))).toEqual({
      code: 2,
      details: 'election: not leader',
    });

    const resigned = await call(m().election, 'Resign', { leader: ca.leader! });
    expect(num(resigned.header!.revision)).toBe(num(pr.header!.revision) + 1);
    const won = await cb;
    // The header is B's own campaign write, from before it had to wait.
    expect(num(won.header!.revision)).toBeLessThan(num(resigned.header!.revision));
    expect(text(won.leader!.key)).toBe(`e-two/${b.toString(16)}`);
    const leader = await call(m().election, 'Leader', { name: bytes('e-two') });
    expect(text(leader.kv!.value)).toBe('B1');

    // A's term is over: resigning again changes nothing and succeeds; proclaiming fails.
    const again = await call(m().election, 'Resign', { leader: ca.leader! });
    expect(num(again.header!.revision)).toBe(num(leader.header!.revision));
    expect((await failure(call(m().election, 'Proclaim', { leader: ca.leader!, value: bytes('x') }))).details).toBe('election: not leader');
  });

  it('Proclaim and Resign without a leader key: UNKNOWN "\\"leader\\" field must be provided"', async () => {
    const expected = { code: 2, details: '"leader" field must be provided' };
    expect(await failure(call(m().election, 'Proclaim', { value: bytes('x') }))).toEqual(expected);
    expect(await failure(call(m().election, 'Resign', {}))).toEqual(expected);
  });

  it('Campaign with a missing lease fails as etcd does', async () => {
    expect(await failure(call(m().election, 'Campaign', { name: bytes('e-bad'), lease: 777, value: bytes('v') }))).toEqual({
      code: 2,
      details: 'etcdserver: requested lease not found',
    });
  });

  it('a campaign canceled while waiting withdraws its candidacy', async () => {
    const a = await grant(30);
    const b = await grant(30);
    await call(m().election, 'Campaign', { name: bytes('e-cancel'), lease: a, value: bytes('A') });
    expect((await failure(call(m().election, 'Campaign', { name: bytes('e-cancel'), lease: b, value: bytes('B') }, 300))).code).toBe(4);
    await eventually(async () => (await call(m().kv, 'Range', { key: bytes(`e-cancel/${b.toString(16)}`) })).kvs.length === 0);
  });

  it('Observe: the leader, its proclamations, the next leader, then the first key after a gap', async () => {
    const obs = observe(m().election, 'e-obs');
    await sleep(200);
    expect(obs.got).toHaveLength(0);
    const a = await grant(30);
    const b = await grant(30);
    await call(m().kv, 'Put', { key: bytes('e-obs-not/x'), value: bytes('no') });
    const ca = await call(m().election, 'Campaign', { name: bytes('e-obs'), lease: a, value: bytes('A1') });
    const first = (await obs.waitFor(1))[0]!;
    expect(text(first.kv!.value)).toBe('A1');
    const caRev = num(ca.header!.revision);
    expect(num(first.header!.revision)).toBe(caRev);

    const cb = call(m().election, 'Campaign', { name: bytes('e-obs'), lease: b, value: bytes('B1') });
    await eventually(async () => (await call(m().kv, 'Range', { key: bytes(`e-obs/${b.toString(16)}`) })).kvs.length === 1);
    const pr = await call(m().election, 'Proclaim', { leader: ca.leader!, value: bytes('A2') });
    const second = (await obs.waitFor(2))[1]!;
    expect(text(second.kv!.value)).toBe('A2');
    expect(num(second.header!.revision)).toBe(num(pr.header!.revision));

    const rs = await call(m().election, 'Resign', { leader: ca.leader! });
    await cb;
    const third = (await obs.waitFor(3))[2]!;
    expect(text(third.kv!.value)).toBe('B1');
    expect(num(third.header!.revision)).toBe(num(rs.header!.revision));

    await call(m().lease, 'LeaseRevoke', { ID: b });
    await sleep(300);
    expect(obs.got).toHaveLength(3);
    const put = await call(m().kv, 'Put', { key: bytes('e-obs/manual'), value: bytes('M') });
    const fourth = (await obs.waitFor(4))[3]!;
    expect(text(fourth.kv!.key)).toBe('e-obs/manual');
    expect(num(fourth.header!.revision)).toBe(num(put.header!.revision));

    obs.stream.cancel();
    await eventually(async () => obs.error() !== undefined);
    expect(obs.error()!.code).toBe(1);
  });

  it('Observe starts with the current leader when there is one; cancelling it frees its watch', async () => {
    const a = await grant(30);
    const ca = await call(m().election, 'Campaign', { name: bytes('e-obs2'), lease: a, value: bytes('now') });
    const streams = openHubStreams(m());
    const obs = observe(m().election, 'e-obs2');
    const first = (await obs.waitFor(1))[0]!;
    expect(text(first.kv!.value)).toBe('now');
    expect(num(first.header!.revision)).toBeGreaterThanOrEqual(num(ca.header!.revision));
    await eventually(async () => openHubStreams(m()) === streams + 1);
    obs.stream.cancel();
    await eventually(async () => openHubStreams(m()) === streams);
  });
});
