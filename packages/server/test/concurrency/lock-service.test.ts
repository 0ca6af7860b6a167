// The v3lock service on an in-process member: exclusion, release by Unlock and by lease
// expiry, re-locking, lease 0, errors, and what cancelling a waiting Lock undoes.
import { describe, expect, it } from 'vitest';
import { bytes, call, eventually, failure, num, openHubStreams, stillPending, text, useMembers } from './helpers.js';

describe('v3lock on a kvfleet member', () => {
  const members = useMembers(1);
  const m = () => members()[0]!;
  const grant = async (ttl: number) => num((await call(m().lease, 'LeaseGrant', { TTL: ttl })).ID);
  const get = async (key: Uint8Array | string) => (await call(m().kv, 'Range', { key: typeof key === 'string' ? bytes(key) : key })).kvs;

  it('Lock answers the ownership key name/<lease hex>, created with the lease; again with the same lease, the same answer', async () => {
    const lease = await grant(30);
    const first = await call(m().lock, 'Lock', { name: bytes('l-basic'), lease });
    expect(text(first.key)).toBe(`l-basic/${lease.toString(16)}`);
    const kvs = await get(first.key);
    expect(kvs).toHaveLength(1);
    expect(num(kvs[0]!.lease)).toBe(lease);
    expect(text(kvs[0]!.value)).toBe('');
    expect(num(kvs[0]!.createRevision)).toBe(num(first.header!.revision));
    const again = await call(m().lock, 'Lock', { name: bytes('l-basic'), lease });
    expect(text(again.key)).toBe(text(first.key));
    expect(num(again.header!.revision)).toBe(num(first.header!.revision));
  });

  it('two lockers exclude each other: the second gets the lock when the first unlocks', async () => {
    const a = await grant(30);
    const b = await grant(30);
    const held = await call(m().lock, 'Lock', { name: bytes('l-excl'), lease: a });
    const waiting = call(m().lock, 'Lock', { name: bytes('l-excl'), lease: b });
    expect(await stillPending(waiting, 400)).toBe(true);
    // The waiter queued its own key behind the holder's.
    expect(num((await call(m().kv, 'Range', { key: bytes('l-excl/'), rangeEnd: bytes('l-excl0') })).count)).toBe(2);
    const unlocked = await call(m().lock, 'Unlock', { key: held.key });
    const got = await waiting;
    expect(text(got.key)).toBe(`l-excl/${b.toString(16)}`);
    expect(num(got.header!.revision)).toBeGreaterThanOrEqual(num(unlocked.header!.revision));
    expect(await get('l-excl/' + a.toString(16))).toHaveLength(0);
  });

  it('waiters are served in the order they queued', async () => {
    const [a, b, c] = [await grant(30), await grant(30), await grant(30)];
    const held = await call(m().lock, 'Lock', { name: bytes('l-order'), lease: a });
    const order: string[] = [];
    const second = call(m().lock, 'Lock', { name: bytes('l-order'), lease: b }).then((r) => (order.push('b'), r));
    await eventually(async () => num((await call(m().kv, 'Range', { key: bytes('l-order/'), rangeEnd: bytes('l-order0') })).count) === 2);
    const third = call(m().lock, 'Lock', { name: bytes('l-order'), lease: c }).then((r) => (order.push('c'), r));
    await eventually(async () => num((await call(m().kv, 'Range', { key: bytes('l-order/'), rangeEnd: bytes('l-order0') })).count) === 3);
    await call(m().lock, 'Unlock', { key: held.key });
    const gotB = await second;
    expect(await stillPending(third, 300)).toBe(true);
    await call(m().lock, 'Unlock', { key: gotB.key });
    await third;
    expect(order).toEqual(['b', 'c']);
  });

  it("a waiter gets the lock when the holder's lease expires", async () => {
    const short = await grant(1);
    const long = await grant(30);
    await call(m().lock, 'Lock', { name: bytes('l-expiry'), lease: short });
    const started = Date.now();
    const got = await call(m().lock, 'Lock', { name: bytes('l-expiry'), lease: long });
    expect(text(got.key)).toBe(`l-expiry/${long.toString(16)}`);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await get(`l-expiry/${short.toString(16)}`)).toHaveLength(0);
  });

  it('a waiting Lock whose deadline passes stops waiting and deletes its key', async () => {
    const a = await grant(30);
    const b = await grant(30);
    await call(m().lock, 'Lock', { name: bytes('l-cancel'), lease: a });
    const streams = openHubStreams(m());
    const waiting = failure(call(m().lock, 'Lock', { name: bytes('l-cancel'), lease: b }, 500));
    await eventually(async () => openHubStreams(m()) === streams + 1);
    const err = await waiting;
    expect(err.code).toBe(4); // DEADLINE_EXCEEDED, decided by the client
    await eventually(async () => (await get(`l-cancel/${b.toString(16)}`)).length === 0);
    await eventually(async () => openHubStreams(m()) === streams);
    // The holder is unaffected.
    expect(await get(`l-cancel/${a.toString(16)}`)).toHaveLength(1);
  });

  it("a waiter whose own lease expires while waiting fails with etcd 3.5's session expired", async () => {
    const holder = await grant(30);
    const waiter = await grant(1);
    const held = await call(m().lock, 'Lock', { name: bytes('l-lost'), lease: holder });
    const waiting = call(m().lock, 'Lock', { name: bytes('l-lost'), lease: waiter });
    await eventually(async () => (await get(`l-lost/${waiter.toString(16)}`)).length === 0, 8_000);
    await call(m().lock, 'Unlock', { key: held.key });
    expect(await failure(waiting)).toEqual({ code: 2, details: 'mutex: session is expired' });
  });

  it('Lock with lease 0 puts the key with a fresh 60 s lease nobody keeps alive', async () => {
    const got = await call(m().lock, 'Lock', { name: bytes('l-nolease'), lease: 0 });
    const kvs = await get(got.key);
    const lease = num(kvs[0]!.lease);
    expect(lease).not.toBe(0);
    expect(text(got.key)).toBe(`l-nolease/${lease.toString(16)}`);
    const ttl = await call(m().lease, 'LeaseTimeToLive', { ID: lease });
    expect(num(ttl.grantedTTL)).toBe(60);
  });

  it('errors are the ones etcd 3.4 answers, with code UNKNOWN', async () => {
    expect(await failure(call(m().lock, 'Lock', { name: bytes('l-err'), lease: 12345 }))).toEqual({
      code: 2,
      details: 'etcdserver: requested lease not found',
    });
    expect(await failure(call(m().lock, 'Unlock', { key: new Uint8Array(0) }))).toEqual({
      code: 2,
      details: 'etcdserver: key is not provided',
    });
  });

  it('Unlock of a key that does not exist succeeds at the current revision', async () => {
    const before = await call(m().kv, 'Range', { key: bytes('x') });
    const res = await call(m().lock, 'Unlock', { key: bytes('l-none/1') });
    expect(num(res.header!.revision)).toBe(num(before.header!.revision));
  });
});
