// etcd's v3lock and v3election services over gRPC (our own client), and etcdctl 3.4's `lock`
// and `elect` (which use the client-side recipes over KV, not these services), against one
// member. Expectations are etcd 3.4's real answers; kvfleet must give the same ones.
import type * as grpc from '@grpc/grpc-js';
import { proto } from '@kvfleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdctl, etcdctlOk, startEtcdctl } from '../harness/etcdctl.js';
import { INSTALL_HINTS, requireBinary } from '../harness/requirements.js';
import { compatTargets } from '../harness/targets.js';
import { useCluster } from '../harness/use-cluster.js';

const haveEtcdctl = requireBinary('etcdctl', INSTALL_HINTS.etcdctl);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bytes = (s: string) => Buffer.from(s);
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array(0)).toString();
const num = (v: proto.Int64Like | null | undefined) => proto.int64ToNumber(v ?? 0, 'value');
/** Lease ids: etcd's exceed 2^53, so they stay bigints and go out as decimal strings. */
const big = (v: proto.Int64Like | null | undefined) => proto.int64ToBigInt(v ?? 0);
type LeaderResponse = proto.Decoded<proto.LeaderResponse>;

function unary<Res>(client: grpc.Client, method: string, request: object, deadlineMs?: number): Promise<Res> {
  const fn = (client as unknown as Record<string, proto.UnaryClientMethod<unknown, Res>>)[method]!.bind(client);
  return proto.unaryCall(fn, request, undefined, deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs }) as Promise<Res>;
}

async function failure(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as grpc.ServiceError).code, details: (e as grpc.ServiceError).details };
  }
  throw new Error('expected the call to fail');
}

async function pendingAfter(p: Promise<unknown>, ms: number): Promise<boolean> {
  const pending = Symbol('pending');
  return (await Promise.race([p.then(() => 'done', () => 'done'), sleep(ms).then(() => pending)])) === pending;
}

async function eventually(check: () => Promise<boolean>, withinMs = 10_000): Promise<void> {
  const until = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await sleep(50);
  }
}

for (const target of compatTargets()) {
  describe.skipIf(!target.enabled)(`v3lock and v3election services against ${target.kind}`, () => {
    const cluster = useCluster({ kind: target.kind, size: 1 });
    let lock: proto.ServiceClient<'Lock'>;
    let election: proto.ServiceClient<'Election'>;
    let kv: proto.ServiceClient<'KV'>;
    let lease: proto.ServiceClient<'Lease'>;
    beforeAll(() => {
      const address = cluster().clientUrls[0]!.replace(/^http:\/\//, '');
      lock = proto.createClient('Lock', address);
      election = proto.createClient('Election', address);
      kv = proto.createClient('KV', address);
      lease = proto.createClient('Lease', address);
    });
    afterAll(() => {
      for (const c of [lock, election, kv, lease]) c?.close();
    });

    const grant = async (ttl: number) => big((await unary<proto.Decoded<proto.LeaseGrantResponse>>(lease, 'LeaseGrant', { TTL: ttl })).ID);
    const Lock = (name: string, leaseId: bigint | number, deadlineMs?: number) =>
      unary<proto.Decoded<proto.LockResponse>>(lock, 'Lock', { name: bytes(name), lease: String(leaseId) }, deadlineMs);
    const Unlock = (key: Uint8Array) => unary<proto.Decoded<proto.UnlockResponse>>(lock, 'Unlock', { key });
    const Campaign = (name: string, leaseId: bigint | number, value: string, deadlineMs?: number) =>
      unary<proto.Decoded<proto.CampaignResponse>>(election, 'Campaign', { name: bytes(name), lease: String(leaseId), value: bytes(value) }, deadlineMs);
    const Proclaim = (leader: object | undefined, value: string) =>
      unary<proto.Decoded<proto.ProclaimResponse>>(election, 'Proclaim', leader === undefined ? { value: bytes(value) } : { leader, value: bytes(value) });
    const Leader = (name: string) => unary<LeaderResponse>(election, 'Leader', { name: bytes(name) });
    const Resign = (leader: object | undefined) => unary<proto.Decoded<proto.ResignResponse>>(election, 'Resign', leader === undefined ? {} : { leader });
    const get = async (key: Uint8Array | string) =>
      (await unary<proto.Decoded<proto.RangeResponse>>(kv, 'Range', { key: typeof key === 'string' ? bytes(key) : key })).kvs;
    const revision = async () => num((await unary<proto.Decoded<proto.RangeResponse>>(kv, 'Range', { key: bytes('x') })).header!.revision);

    it('Lock: the key is name/<lease hex> created with the lease at the header revision; locking again answers the same', async () => {
      const id = await grant(30);
      const first = await Lock('svc-lock', id);
      expect(text(first.key)).toBe(`svc-lock/${id.toString(16)}`);
      const kvs = await get(first.key);
      expect(kvs).toHaveLength(1);
      expect(num(kvs[0]!.createRevision)).toBe(num(first.header!.revision));
      expect(big(kvs[0]!.lease)).toBe(id);
      expect(text(kvs[0]!.value)).toBe('');
      const again = await Lock('svc-lock', id);
      expect(text(again.key)).toBe(text(first.key));
      expect(num(again.header!.revision)).toBe(num(first.header!.revision));
      await Unlock(first.key);
      expect(await get(first.key)).toHaveLength(0);
    });

    it('Lock: a second locker waits until Unlock; a canceled waiter removes its key', async () => {
      const [a, b, c] = [await grant(30), await grant(30), await grant(30)];
      const held = await Lock('svc-excl', a);
      const waiting = Lock('svc-excl', b);
      expect(await pendingAfter(waiting, 500)).toBe(true);
      const canceled = await failure(Lock('svc-excl', c, 500));
      expect(canceled.code).toBe(4);
      await eventually(async () => (await get(`svc-excl/${c.toString(16)}`)).length === 0);
      const unlocked = await Unlock(held.key);
      const got = await waiting;
      expect(text(got.key)).toBe(`svc-excl/${b.toString(16)}`);
      expect(num(got.header!.revision)).toBeGreaterThanOrEqual(num(unlocked.header!.revision));
      await Unlock(got.key);
    });

    it("Lock: a waiter gets the lock when the holder's lease expires", async () => {
      const short = await grant(2);
      const long = await grant(30);
      await Lock('svc-expiry', short);
      const got = await Lock('svc-expiry', long);
      expect(text(got.key)).toBe(`svc-expiry/${long.toString(16)}`);
      expect(await get(`svc-expiry/${short.toString(16)}`)).toHaveLength(0);
      await Unlock(got.key);
    });

    it('Lock with lease 0 uses a fresh lease granted for 60 s', async () => {
      const got = await Lock('svc-nolease', 0);
      const kvs = await get(got.key);
      const id = big(kvs[0]!.lease);
      expect(text(got.key)).toBe(`svc-nolease/${id.toString(16)}`);
      const ttl = await unary<proto.Decoded<proto.LeaseTimeToLiveResponse>>(lease, 'LeaseTimeToLive', { ID: String(id) });
      expect(num(ttl.grantedTTL)).toBe(60);
      await Unlock(got.key);
    });

    it('Lock and Unlock errors, and Unlock of a missing key', async () => {
      expect(await failure(Lock('svc-err', 12345))).toEqual({ code: 2, details: 'etcdserver: requested lease not found' });
      expect(await failure(Unlock(new Uint8Array(0)))).toEqual({ code: 2, details: 'etcdserver: key is not provided' });
      const rev = await revision();
      expect(num((await Unlock(bytes('svc-none/1'))).header!.revision)).toBe(rev);
    });

    it('Leader, Campaign, Proclaim, Resign', async () => {
      expect(await failure(Leader('svc-el'))).toEqual({ code: 2, details: 'election: no leader' });
      const a = await grant(30);
      const b = await grant(30);
      const ca = await Campaign('svc-el', a, 'A1');
      const rev = num(ca.header!.revision);
      expect(text(ca.leader!.name)).toBe('svc-el');
      expect(text(ca.leader!.key)).toBe(`svc-el/${a.toString(16)}`);
      expect(num(ca.leader!.rev)).toBe(rev);
      expect(big(ca.leader!.lease)).toBe(a);
      const leader = await Leader('svc-el');
      expect(num(leader.header!.revision)).toBe(rev);
      expect({ key: text(leader.kv!.key), value: text(leader.kv!.value), create: num(leader.kv!.createRevision), lease: big(leader.kv!.lease) }).toEqual({
        key: `svc-el/${a.toString(16)}`,
        value: 'A1',
        create: rev,
        lease: a,
      });

      // Campaigning again with the same lease: same term, value updated, header of the campaign txn.
      const again = await Campaign('svc-el', a, 'A2');
      expect(num(again.header!.revision)).toBe(rev);
      expect(num(again.leader!.rev)).toBe(rev);
      expect(text((await Leader('svc-el')).kv!.value)).toBe('A2');

      const cb = Campaign('svc-el', b, 'B1');
      expect(await pendingAfter(cb, 500)).toBe(true);
      const pr = await Proclaim(ca.leader!, 'A3');
      // rev + 1: the A2 update; rev + 2: B's candidacy.
      expect(num(pr.header!.revision)).toBe(rev + 3);
      expect(await failure(Proclaim({ ...ca.leader!, rev: 1 }, 'x'))).toEqual({ code: 2, details: 'election: not leader' });
      const missing = { code: 2, details: '"leader" field must be provided' };
      expect(await failure(Proclaim(undefined, 'x'))).toEqual(missing);
      expect(await failure(Resign(undefined))).toEqual(missing);

      const rs = await Resign(ca.leader!);
      expect(num(rs.header!.revision)).toBe(rev + 4);
      const won = await cb;
      expect(num(won.header!.revision)).toBe(rev + 2);
      expect(text(won.leader!.key)).toBe(`svc-el/${b.toString(16)}`);
      expect(text((await Leader('svc-el')).kv!.value)).toBe('B1');
      // A's term is over: Resign is a no-op that succeeds.
      const stale = await Resign(ca.leader!);
      expect(num(stale.header!.revision)).toBe(rev + 4);
      await Resign(won.leader!);
      expect(await failure(Campaign('svc-el', 777, 'v'))).toEqual({ code: 2, details: 'etcdserver: requested lease not found' });
    });

    it('Campaign canceled while waiting withdraws its candidacy', async () => {
      const a = await grant(30);
      const b = await grant(30);
      const ca = await Campaign('svc-elc', a, 'A');
      expect((await failure(Campaign('svc-elc', b, 'B', 500))).code).toBe(4);
      await eventually(async () => (await get(`svc-elc/${b.toString(16)}`)).length === 0);
      await Resign(ca.leader!);
    });

    it('Observe: leader, proclamations, the next leader, then the first key after a gap', async () => {
      const got: LeaderResponse[] = [];
      const stream = election.Observe({ name: bytes('svc-obs') });
      stream.on('data', (r: LeaderResponse) => got.push(r));
      const ended = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
      const count = (n: number) => eventually(async () => got.length >= n);
      await sleep(300);
      expect(got).toHaveLength(0);
      const a = await grant(30);
      const b = await grant(30);
      await unary(kv, 'Put', { key: bytes('svc-obs-not/x'), value: bytes('no') });
      const ca = await Campaign('svc-obs', a, 'A1');
      await count(1);
      const cb = Campaign('svc-obs', b, 'B1');
      await eventually(async () => (await get(`svc-obs/${b.toString(16)}`)).length === 1);
      const pr = await Proclaim(ca.leader!, 'A2');
      await count(2);
      const rs = await Resign(ca.leader!);
      await cb;
      await count(3);
      await unary(lease, 'LeaseRevoke', { ID: String(b) });
      await sleep(300);
      expect(got).toHaveLength(3);
      const put = await unary<proto.Decoded<proto.PutResponse>>(kv, 'Put', { key: bytes('svc-obs/manual'), value: bytes('M') });
      await count(4);
      const seen = got.map((r) => ({ revision: num(r.header!.revision), key: text(r.kv!.key), value: text(r.kv!.value) }));
      expect(seen).toEqual([
        { revision: num(ca.header!.revision), key: `svc-obs/${a.toString(16)}`, value: 'A1' },
        { revision: num(pr.header!.revision), key: `svc-obs/${a.toString(16)}`, value: 'A2' },
        { revision: num(rs.header!.revision), key: `svc-obs/${b.toString(16)}`, value: 'B1' },
        { revision: num(put.header!.revision), key: 'svc-obs/manual', value: 'M' },
      ]);
      stream.cancel();
      expect((await ended).code).toBe(1);
    });
  });

  describe.skipIf(!target.enabled || !haveEtcdctl)(`etcdctl 3.4 lock and elect against ${target.kind}`, () => {
    const cluster = useCluster({ kind: target.kind, size: 1 });
    const ctl = (args: string[]) => etcdctlOk(cluster().clientUrls, args);

    it('etcdctl lock: a second process waits until the first releases (SIGTERM)', async () => {
      const first = startEtcdctl(cluster().clientUrls, ['lock', 'ctl-lock']);
      const [key1] = await first.waitForLines(1);
      expect(key1).toMatch(/^ctl-lock\/[0-9a-f]+$/);
      const second = startEtcdctl(cluster().clientUrls, ['lock', 'ctl-lock']);
      await sleep(1_000);
      expect(second.lines).toEqual([]);
      expect(await ctl(['get', 'ctl-lock/', '--prefix', '--keys-only'])).toContain(key1);
      await first.stop();
      const [key2] = await second.waitForLines(1);
      expect(key2).toMatch(/^ctl-lock\/[0-9a-f]+$/);
      expect(key2).not.toBe(key1);
      expect((await ctl(['get', 'ctl-lock/', '--prefix', '--keys-only'])).trim()).toBe(key2);
      await second.stop();
      expect(await ctl(['get', 'ctl-lock/', '--prefix', '--keys-only'])).toBe('');
    });

    it('etcdctl lock <name> <command> runs the command holding the lock, with ETCD_LOCK_KEY and ETCD_LOCK_REV', async () => {
      const result = await etcdctl(cluster().clientUrls, ['lock', 'ctl-run', '--', 'sh', '-c', 'echo "$ETCD_LOCK_KEY $ETCD_LOCK_REV"']);
      expect(result.code).toBe(0);
      const [key, rev] = result.stdout.trim().split(' ');
      expect(key).toMatch(/^ctl-run\/[0-9a-f]+$/);
      expect(Number(rev)).toBeGreaterThan(1);
      expect(await ctl(['get', 'ctl-run/', '--prefix', '--keys-only'])).toBe('');
    });

    it('etcdctl elect: the first candidate leads, the observer sees it, the second takes over when it resigns', async () => {
      const observer = startEtcdctl(cluster().clientUrls, ['elect', '-l', 'ctl-elect']);
      const one = startEtcdctl(cluster().clientUrls, ['elect', 'ctl-elect', 'first']);
      const [key1, value1] = await one.waitForLines(2);
      expect(key1).toMatch(/^ctl-elect\/[0-9a-f]+$/);
      expect(value1).toBe('first');
      expect(await observer.waitForLines(2)).toEqual([key1, 'first']);
      const two = startEtcdctl(cluster().clientUrls, ['elect', 'ctl-elect', 'second']);
      await sleep(1_000);
      expect(two.lines).toEqual([]);
      await one.stop();
      const [key2, value2] = await two.waitForLines(2);
      expect(key2).toMatch(/^ctl-elect\/[0-9a-f]+$/);
      expect(value2).toBe('second');
      expect(await observer.waitForLines(4)).toEqual([key1, 'first', key2, 'second']);
      await two.stop();
      await observer.stop();
      expect(await ctl(['get', 'ctl-elect/', '--prefix', '--keys-only'])).toBe('');
    });
  });
}
