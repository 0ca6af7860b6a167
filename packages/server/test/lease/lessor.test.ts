import { ETCD_ERRORS, EtcdError, isEtcdError } from '@kvfleet/core';
import { describe, expect, it } from 'vitest';
import { LeaseError } from '../../src/lease/errors.js';
import { Lessor } from '../../src/lease/lessor.js';
import { MAX_LEASE_TTL, minLeaseTtlSeconds } from '../../src/lease/limits.js';
import { FakeClock, deleteWithLeases, fixture, k, putWithLease, rejected, str, thrown } from './helpers.js';

const SEC = 1000;

function expectEtcd(e: unknown, name: 'ErrGRPCLeaseNotFound' | 'ErrGRPCLeaseExist' | 'ErrGRPCLeaseTTLTooLarge'): void {
  expect(e).toBeInstanceOf(EtcdError);
  expect(isEtcdError(e, ETCD_ERRORS[name])).toBe(true);
}

function expectLease(e: unknown, code: LeaseError['code']): void {
  expect(e).toBeInstanceOf(LeaseError);
  expect((e as LeaseError).code).toBe(code);
}

describe('minimum TTL', () => {
  it('is etcd’s (3 * electionTicks / 2) heartbeats rounded up to seconds', () => {
    expect(minLeaseTtlSeconds(10, 100)).toBe(2); // etcd defaults: 1.5 s -> 2 s
    expect(minLeaseTtlSeconds(11, 100)).toBe(2); // 33 / 2 = 16 ticks (integer), 1.6 s
    expect(minLeaseTtlSeconds(50, 100)).toBe(8); // 7.5 s
    expect(minLeaseTtlSeconds(1, 100)).toBe(1);
    expect(() => minLeaseTtlSeconds(0, 100)).toThrow(LeaseError);
  });
});

describe('Lessor: replicated state', () => {
  it('grants, raising the TTL to the minimum, and persists only on commit', async () => {
    const f = await fixture({ minTtlSeconds: 5 });
    const w = await f.apply((t) => [f.lessor.grant(1, 3, t), f.lessor.grant(2, 60, t)]);
    expect(w.result).toEqual([{ id: 1, ttl: 5 }, { id: 2, ttl: 60 }]);
    expect(w.revision).toBe(1); // lease writes make no KV revision
    expect(f.lessor.leases()).toEqual([1, 2]);
    expect(f.lessor.lookup(1)).toEqual({ id: 1, ttl: 5, remainingTtl: 0 });
  });

  it('raises etcd’s errors with etcd’s messages', async () => {
    const f = await fixture();
    await f.apply((t) => f.lessor.grant(7, 10, t));
    expectEtcd(await rejected(f.apply((t) => f.lessor.grant(7, 10, t))), 'ErrGRPCLeaseExist');
    expectEtcd(await rejected(f.apply((t) => f.lessor.grant(8, MAX_LEASE_TTL + 1, t))), 'ErrGRPCLeaseTTLTooLarge');
    expectEtcd(await rejected(f.apply((t) => f.lessor.grant(0, 10, t))), 'ErrGRPCLeaseNotFound');
    expectEtcd(await rejected(f.apply((t) => f.lessor.revoke(9, t))), 'ErrGRPCLeaseNotFound');
    expectEtcd(await rejected(f.apply((t) => f.lessor.attach(9, k('a'), t))), 'ErrGRPCLeaseNotFound');
    // A put naming an unknown lease fails before writing anything.
    expectEtcd(await rejected(f.apply((t) => putWithLease(f.lessor, t, k('x'), k('1'), 9))), 'ErrGRPCLeaseNotFound');
    expect(f.store.currentRevision).toBe(1);
    const e = await rejected(f.apply((t) => f.lessor.revoke(9, t)));
    expect((e as EtcdError).message).toBe('etcdserver: requested lease not found');
    expect((e as EtcdError).code).toBe(5);
    expect((await rejected(f.apply((t) => f.lessor.grant(7, 1, t))) as Error).message).toBe('etcdserver: lease already exists');
    expect((await rejected(f.apply((t) => f.lessor.grant(8, 9e9 + 1, t))) as Error).message).toBe('etcdserver: too large lease TTL');
    // The maximum itself is allowed.
    expect((await f.apply((t) => f.lessor.grant(8, MAX_LEASE_TTL, t))).result.ttl).toBe(MAX_LEASE_TTL);
    expectLease(await rejected(f.apply((t) => f.lessor.grant(2 ** 53, 10, t))), 'ErrLeaseInvalidArgument');
    expectLease(await rejected(f.apply((t) => f.lessor.grant(-1, 10, t))), 'ErrLeaseInvalidArgument');
    expectLease(await rejected(f.apply((t) => f.lessor.grant(3, 1.5, t))), 'ErrLeaseInvalidArgument');
  });

  it('changes nothing in memory or on disk when the write callback throws', async () => {
    const f = await fixture();
    await f.apply((t) => {
      f.lessor.grant(1, 10, t);
      putWithLease(f.lessor, t, k('a'), k('1'), 1);
    });
    const before = await f.backend.hash();
    await rejected(
      f.apply((t) => {
        f.lessor.grant(2, 10, t);
        f.lessor.revoke(1, t);
        f.lessor.checkpoint(1, 3, t);
        throw new Error('abort');
      }),
    );
    expect(await f.backend.hash()).toBe(before);
    expect(f.lessor.leases()).toEqual([1]);
    f.lessor.promote(0);
    expect(f.lessor.timeToLive(1, { keys: true }).keys.map(str)).toEqual(['a']);
  });

  it('sees its own staged changes within one write', async () => {
    const f = await fixture();
    await f.apply((t) => {
      f.lessor.grant(1, 10, t);
      expect(f.lessor.lookup(1, t)).toEqual({ id: 1, ttl: 10, remainingTtl: 0 });
      expect(f.lessor.lookup(1)).toBeUndefined(); // not committed yet
      putWithLease(f.lessor, t, k('a'), k('1'), 1);
      f.lessor.checkpoint(1, 4, t);
      expect(f.lessor.lookup(1, t)?.remainingTtl).toBe(4);
      expect(f.lessor.revoke(1, t).map(str)).toEqual(['a']);
      expect(f.lessor.lookup(1, t)).toBeUndefined();
      f.lessor.grant(1, 20, t);
    });
    expect(f.lessor.lookup(1)).toEqual({ id: 1, ttl: 20, remainingTtl: 0 });
    expect(f.store.range(k('a')).kvs).toEqual([]);
    f.lessor.promote(0);
    expect(f.lessor.timeToLive(1, { keys: true }).keys).toEqual([]);
  });

  it('attaches and detaches keys as puts and deletes change them', async () => {
    const f = await fixture();
    await f.apply((t) => {
      f.lessor.grant(1, 10, t);
      f.lessor.grant(2, 10, t);
    });
    await f.apply((t) => {
      putWithLease(f.lessor, t, k('a'), k('1'), 1);
      putWithLease(f.lessor, t, k('b'), k('1'), 1);
      putWithLease(f.lessor, t, k('c'), k('1'), 2);
    });
    await f.apply((t) => putWithLease(f.lessor, t, k('b'), k('2'), 2)); // moves b to lease 2
    await f.apply((t) => putWithLease(f.lessor, t, k('c'), k('2'), 0)); // c loses its lease
    await f.apply((t) => deleteWithLeases(f.lessor, t, k('a')));
    f.lessor.promote(0);
    expect(f.lessor.timeToLive(1, { keys: true }).keys.map(str)).toEqual([]);
    expect(f.lessor.timeToLive(2, { keys: true }).keys.map(str)).toEqual(['b']);
    // Detaching what is not attached, or from an unknown lease, is a no-op.
    await f.apply((t) => {
      f.lessor.detach(1, k('b'), t);
      f.lessor.detach(99, k('b'), t);
    });
    expect(f.lessor.timeToLive(2, { keys: true }).keys.map(str)).toEqual(['b']);
    // Attaching to another lease without a detach still moves the key.
    await f.apply((t) => f.lessor.attach(1, k('b'), t));
    expect(f.lessor.timeToLive(1, { keys: true }).keys.map(str)).toEqual(['b']);
    expect(f.lessor.timeToLive(2, { keys: true }).keys.map(str)).toEqual([]);
  });

  it('revokes: deletes the attached keys in byte order in the same write, and the record', async () => {
    const f = await fixture();
    await f.apply((t) => {
      f.lessor.grant(1, 10, t);
      putWithLease(f.lessor, t, k('zz'), k('1'), 1);
      putWithLease(f.lessor, t, k('b'), k('1'), 1);
      putWithLease(f.lessor, t, k('keep'), k('1'), 0);
    });
    const w = await f.apply((t) => f.lessor.revoke(1, t));
    expect(w.result.map(str)).toEqual(['b', 'zz']);
    expect(w.revision).toBe(3);
    expect(w.events.map((e) => `${e.type} ${str(e.kv.key)}`)).toEqual(['delete b', 'delete zz']);
    expect(f.store.range(k('\0'), k('\0')).kvs.map((kv) => str(kv.key))).toEqual(['keep']);
    expect(f.lessor.leases()).toEqual([]);
    const view = f.backend.readTxn();
    try {
      expect(view.range('lease')).toEqual([]);
    } finally {
      view.release();
    }
  });

  it('ignores a checkpoint of an unknown lease, as etcd does', async () => {
    const f = await fixture();
    const w = await f.apply((t) => f.lessor.checkpoint(5, 10, t));
    expect(w.result).toBeUndefined();
    expect(f.lessor.leases()).toEqual([]);
    expectLease(await rejected(f.apply((t) => f.lessor.checkpoint(5, -1, t))), 'ErrLeaseInvalidArgument');
  });
});

describe('Lessor: primary behaviour', () => {
  it('does not expire leases off the leader, and refuses renew and timeToLive there', async () => {
    const f = await fixture();
    await f.apply((t) => f.lessor.grant(1, 5, t));
    f.clock.advance(3600 * SEC);
    expect(f.lessor.isPrimary).toBe(false);
    expect(f.lessor.expired(10)).toEqual([]);
    expect(f.lessor.checkpointsDue(10)).toEqual([]);
    expectLease(thrown(() => f.lessor.renew(1)), 'ErrLeaseNotPrimary');
    expectLease(thrown(() => f.lessor.timeToLive(1)), 'ErrLeaseNotPrimary');
  });

  it('expires a lease granted on the leader after its TTL; renew pushes expiry back', async () => {
    const f = await fixture();
    f.lessor.promote(0);
    await f.apply((t) => f.lessor.grant(1, 10, t));
    expect(f.lessor.timeToLive(1)).toEqual({ id: 1, ttl: 10, grantedTtl: 10, keys: [] });
    f.clock.advance(9_500);
    expect(f.lessor.timeToLive(1).ttl).toBe(0); // 0.5 s left, truncated as etcd does
    expect(f.lessor.expired(10)).toEqual([]);
    expect(f.lessor.renew(1)).toEqual({ ttl: 10, clearRemaining: false });
    f.clock.advance(9_999);
    expect(f.lessor.expired(10)).toEqual([]);
    f.clock.advance(1);
    expect(f.lessor.expired(10)).toEqual([1]);
    expectLease(thrown(() => f.lessor.renew(1)), 'ErrLeaseExpired');
    expectEtcd(thrown(() => f.lessor.renew(2)), 'ErrGRPCLeaseNotFound');
    expect(f.lessor.timeToLive(2)).toEqual({ id: 2, ttl: -1, grantedTtl: 0, keys: [] });
  });

  it('reports an expired lease again only after the retry interval, and never once revoked', async () => {
    const f = await fixture({ expiredRetryMs: 3000 });
    f.lessor.promote(0);
    await f.apply((t) => f.lessor.grant(1, 5, t));
    f.clock.advance(5 * SEC);
    expect(f.lessor.expired(10)).toEqual([1]);
    expect(f.lessor.expired(10)).toEqual([]);
    f.clock.advance(2999);
    expect(f.lessor.expired(10)).toEqual([]);
    f.clock.advance(1);
    expect(f.lessor.expired(10)).toEqual([1]);
    await f.apply((t) => f.lessor.revoke(1, t));
    f.clock.advance(10 * SEC);
    expect(f.lessor.expired(10)).toEqual([]);
  });

  it('bounds expired() per call and returns the earliest expiries first', async () => {
    const f = await fixture();
    f.lessor.promote(0);
    await f.apply((t) => {
      for (let id = 1; id <= 25; id++) f.lessor.grant(id, 100 - id, t); // higher id expires sooner
    });
    f.clock.advance(200 * SEC);
    const first = f.lessor.expired(10);
    expect(first).toEqual([25, 24, 23, 22, 21, 20, 19, 18, 17, 16]);
    expect(f.lessor.expired(10)).toEqual([15, 14, 13, 12, 11, 10, 9, 8, 7, 6]);
    expect(f.lessor.expired(10)).toEqual([5, 4, 3, 2, 1]);
    expect(f.lessor.expired(10)).toEqual([]);
    expect(() => f.lessor.expired(0)).toThrow(LeaseError);
  });

  it('promote extends every lease by the given extension; demote stops expiry', async () => {
    const f = await fixture();
    await f.apply((t) => {
      f.lessor.grant(1, 10, t);
      f.lessor.grant(2, 60, t);
    });
    f.clock.advance(1000 * SEC); // followers do not count time against leases
    f.lessor.promote(1000); // etcd passes the election timeout
    expect(f.lessor.timeToLive(1).ttl).toBe(11);
    f.clock.advance(10_999);
    expect(f.lessor.expired(10)).toEqual([]);
    f.clock.advance(1);
    expect(f.lessor.expired(10)).toEqual([1]);
    f.lessor.demote();
    expect(f.lessor.isPrimary).toBe(false);
    f.clock.advance(3600 * SEC);
    expect(f.lessor.expired(10)).toEqual([]);
    f.lessor.promote(0);
    expect(f.lessor.timeToLive(2).ttl).toBe(60);
    expect(f.lessor.timeToLive(1).ttl).toBe(10); // not yet revoked: a new leader gives it its TTL again
  });

  it('spreads expiries on promote when many leases would expire together', async () => {
    const f = await fixture({ revokeRate: 8, expiredRetryMs: 3600 * SEC }); // at most 6 per second; no re-reports
    await f.apply((t) => {
      for (let id = 1; id <= 20; id++) f.lessor.grant(id, 10, t);
    });
    f.lessor.promote(0);
    const counts: number[] = [];
    for (let s = 0; s < 6; s++) {
      counts.push(f.lessor.expired(100).length);
      f.clock.advance(SEC);
    }
    // Nothing expires before 10 s; from then on, at most 6 per second.
    expect(counts).toEqual([0, 0, 0, 0, 0, 0]);
    f.clock.advance(4 * SEC - 1); // just below 10 s after promote
    expect(f.lessor.expired(100)).toEqual([]);
    const perSecond: number[] = [];
    for (let s = 0; s < 5; s++) {
      f.clock.advance(s === 0 ? 1 : SEC);
      perSecond.push(f.lessor.expired(100).length);
    }
    expect(perSecond).toEqual([6, 6, 6, 2, 0]);
  });

  it('schedules checkpoints for long leases only, on the leader, and applies them', async () => {
    const f = await fixture({ checkpointIntervalMs: 60 * SEC });
    f.lessor.promote(0);
    await f.apply((t) => {
      f.lessor.grant(1, 600, t); // longer than the interval: checkpointed
      f.lessor.grant(2, 60, t); // not longer: never checkpointed
    });
    f.clock.advance(60 * SEC - 1);
    expect(f.lessor.checkpointsDue(10)).toEqual([]);
    f.clock.advance(1);
    const due = f.lessor.checkpointsDue(10);
    expect(due).toEqual([{ id: 1, remainingTtl: 540 }]);
    expect(f.lessor.checkpointsDue(10)).toEqual([]); // not again until it applies
    await f.apply((t) => f.lessor.checkpoint(1, 540, t));
    expect(f.lessor.lookup(1)?.remainingTtl).toBe(540);
    f.clock.advance(60 * SEC);
    expect(f.lessor.checkpointsDue(10)).toEqual([{ id: 1, remainingTtl: 480 }]);
  });

  it('bounds checkpointsDue() per call', async () => {
    const f = await fixture({ checkpointIntervalMs: 10 * SEC });
    f.lessor.promote(0);
    await f.apply((t) => {
      for (let id = 1; id <= 7; id++) f.lessor.grant(id, 100, t);
    });
    f.clock.advance(10 * SEC);
    expect(f.lessor.checkpointsDue(3).map((c) => c.id)).toEqual([1, 2, 3]);
    expect(f.lessor.checkpointsDue(3).map((c) => c.id)).toEqual([4, 5, 6]);
    expect(f.lessor.checkpointsDue(3).map((c) => c.id)).toEqual([7]);
  });

  it('a checkpoint restores the remaining TTL across a leader change', async () => {
    const f = await fixture({ checkpointIntervalMs: 60 * SEC });
    f.lessor.promote(0);
    await f.apply((t) => f.lessor.grant(1, 3600, t));
    f.clock.advance(600 * SEC);
    await f.apply((t) => f.lessor.checkpoint(1, f.lessor.timeToLive(1).ttl, t));
    // Leadership moves away and back (or to another member with the same replicated state).
    f.lessor.demote();
    f.clock.advance(5 * SEC);
    f.lessor.promote(1000);
    expect(f.lessor.timeToLive(1).ttl).toBe(3001);
    // Without the checkpoint a new leader would give the full hour again.
    const g = await fixture({ checkpointIntervalMs: 60 * SEC });
    g.lessor.promote(0);
    await g.apply((t) => g.lessor.grant(1, 3600, t));
    g.clock.advance(600 * SEC);
    g.lessor.demote();
    g.lessor.promote(1000);
    expect(g.lessor.timeToLive(1).ttl).toBe(3601);
  });

  it('renew asks to clear a checkpointed remaining TTL, and uses the full TTL', async () => {
    const f = await fixture({ checkpointIntervalMs: 60 * SEC });
    f.lessor.promote(0);
    await f.apply((t) => f.lessor.grant(1, 3600, t));
    await f.apply((t) => f.lessor.checkpoint(1, 100, t));
    f.lessor.demote();
    f.lessor.promote(0);
    expect(f.lessor.timeToLive(1).ttl).toBe(100);
    expect(f.lessor.renew(1)).toEqual({ ttl: 3600, clearRemaining: true });
    expect(f.lessor.timeToLive(1).ttl).toBe(3600);
    await f.apply((t) => f.lessor.checkpoint(1, 0, t));
    expect(f.lessor.renew(1)).toEqual({ ttl: 3600, clearRemaining: false });
    // With checkpointing off, nothing is scheduled or asked for.
    const g = await fixture({ checkpointing: false, checkpointIntervalMs: 60 * SEC });
    g.lessor.promote(0);
    await g.apply((t) => g.lessor.grant(1, 3600, t));
    await g.apply((t) => g.lessor.checkpoint(1, 100, t));
    g.clock.advance(120 * SEC);
    expect(g.lessor.checkpointsDue(10)).toEqual([]);
    expect(g.lessor.renew(1).clearRemaining).toBe(false);
  });

  it('lists keys in byte order in timeToLive and only when asked', async () => {
    const f = await fixture();
    f.lessor.promote(0);
    await f.apply((t) => {
      f.lessor.grant(1, 10, t);
      for (const key of ['c', 'a', 'b']) putWithLease(f.lessor, t, k(key), k('v'), 1);
    });
    expect(f.lessor.timeToLive(1).keys).toEqual([]);
    expect(f.lessor.timeToLive(1, { keys: true }).keys.map(str)).toEqual(['a', 'b', 'c']);
  });

  it('validates options', () => {
    const clock = new FakeClock();
    expect(() => new Lessor({ now: clock.now, minTtlSeconds: 0 })).toThrow(LeaseError);
    expect(() => new Lessor({ now: clock.now, minTtlSeconds: 1, expiredRetryMs: 0 })).toThrow(LeaseError);
    expect(() => new Lessor({ now: clock.now, minTtlSeconds: 1, revokeRate: 0 })).toThrow(LeaseError);
    expect(() => new Lessor({ now: clock.now, minTtlSeconds: 1 }).promote(-1)).toThrow(LeaseError);
  });
});
