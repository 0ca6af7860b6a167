// Lock and election across a three-member cluster (waiting on followers, releasing elsewhere),
// and what a member shutting down does to calls that wait.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { bytes, call, eventually, failure, num, startMembers, stillPending, text, useMembers } from './helpers.js';

describe('lock and election on a three-member cluster', () => {
  const members = useMembers(3);

  it('a Lock waiting on each follower is released by an Unlock on the leader', async () => {
    const all = members();
    const leaderIndex = all.findIndex((m) => m.member.server.isLeader);
    expect(leaderIndex).toBeGreaterThanOrEqual(0);
    const leader = all[leaderIndex]!;
    const followers = all.filter((_, i) => i !== leaderIndex);
    const grant = async () => num((await call(leader.lease, 'LeaseGrant', { TTL: 30 })).ID);
    const held = await call(leader.lock, 'Lock', { name: bytes('c-lock'), lease: await grant() });
    const l1 = await grant();
    const w1 = call(followers[0]!.lock, 'Lock', { name: bytes('c-lock'), lease: l1 });
    expect(await stillPending(w1, 300)).toBe(true);
    const l2 = await grant();
    const w2 = call(followers[1]!.lock, 'Lock', { name: bytes('c-lock'), lease: l2 });
    expect(await stillPending(w2, 300)).toBe(true);
    await call(leader.lock, 'Unlock', { key: held.key });
    const got1 = await w1;
    expect(text(got1.key)).toBe(`c-lock/${l1.toString(16)}`);
    expect(await stillPending(w2, 200)).toBe(true);
    await call(followers[1]!.lock, 'Unlock', { key: got1.key });
    expect(text((await w2).key)).toBe(`c-lock/${l2.toString(16)}`);
  });

  it("Observe on a follower follows a campaign made on another member", async () => {
    const [a, b, c] = members();
    const stream = c!.election.Observe({ name: bytes('c-elect') });
    const got: string[] = [];
    stream.on('data', (r: { kv: { value: Uint8Array } }) => got.push(text(r.kv.value)));
    stream.on('error', () => undefined);
    const lease = num((await call(a!.lease, 'LeaseGrant', { TTL: 30 })).ID);
    const res = await call(b!.election, 'Campaign', { name: bytes('c-elect'), lease, value: bytes('one') });
    await call(a!.election, 'Proclaim', { leader: res.leader!, value: bytes('two') });
    await eventually(async () => got.length === 2);
    expect(got).toEqual(['one', 'two']);
    expect(text((await call(c!.election, 'Leader', { name: bytes('c-elect') })).kv!.value)).toBe('two');
    stream.cancel();
  });
});

describe('a member shutting down', () => {
  it('ends waiting Lock and Observe calls with UNAVAILABLE "etcdserver: server stopped", promptly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kvfleet-concurrency-stop-'));
    const [m] = await startMembers(dir, 1);
    try {
      const grant = async () => num((await call(m!.lease, 'LeaseGrant', { TTL: 30 })).ID);
      await call(m!.lock, 'Lock', { name: bytes('s-lock'), lease: await grant() });
      const waiting = failure(call(m!.lock, 'Lock', { name: bytes('s-lock'), lease: await grant() }));
      const stream = m!.election.Observe({ name: bytes('s-elect') });
      const observeEnd = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
      stream.on('data', () => undefined);
      expect(await stillPending(waiting, 300)).toBe(true);
      const started = Date.now();
      await m!.member.stop();
      expect(Date.now() - started).toBeLessThan(1_500);
      expect(await waiting).toEqual({ code: 14, details: 'etcdserver: server stopped' });
      const err = await observeEnd;
      expect({ code: err.code, details: err.details }).toEqual({ code: 14, details: 'etcdserver: server stopped' });
    } finally {
      for (const c of [m!.lock, m!.election, m!.kv, m!.lease]) c.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
