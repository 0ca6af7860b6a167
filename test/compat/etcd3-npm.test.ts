// The `etcd3` npm client (1.1.2) against a single member: KV with its range options, txn,
// watch (key, prefix, prev kv, history), leases and locks. Expectations are etcd 3.4's real
// answers; kvfleet must give the same ones.
import {
  Etcd3,
  EtcdLeaseInvalidError,
  EtcdLockFailedError,
  GRPCInvalidArgumentError,
  GRPCOutOfRangeError,
  Range,
  type IKeyValue,
  type IResponseOp,
  type Watcher,
} from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compatTargets } from '../harness/targets.js';
import { useCluster } from '../harness/use-cluster.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SeenEvent {
  type: 'put' | 'delete';
  key: string;
  value: string;
  modRevision: string;
  prev?: string;
}

/** Records a watcher's put and delete events in arrival order. */
function record(watcher: Watcher): SeenEvent[] {
  const seen: SeenEvent[] = [];
  const push = (type: 'put' | 'delete') => (kv: IKeyValue, previous?: IKeyValue) => {
    seen.push({
      type,
      key: kv.key.toString(),
      value: kv.value.toString(),
      modRevision: String(kv.mod_revision),
      ...(previous ? { prev: previous.value.toString() } : {}),
    });
  };
  watcher.on('put', push('put'));
  watcher.on('delete', push('delete'));
  return seen;
}

/** Which of a txn response op's oneof fields is set. */
function responseKind(op: IResponseOp): string {
  const set = (Object.keys(op) as (keyof IResponseOp)[]).filter((k) => k.startsWith('response_') && op[k] != null);
  return set.join('+');
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

for (const target of compatTargets({ proxies: true })) {
  describe.skipIf(!target.enabled)(`etcd3 npm client against ${target.name}`, () => {
    const cluster = useCluster({ kind: target.kind, size: 1, proxy: target.proxy });
    const clients: Etcd3[] = [];
    const connect = (): Etcd3 => {
      const c = new Etcd3({ hosts: cluster().clientUrls, dialTimeout: 5_000 });
      clients.push(c);
      return c;
    };
    let client: Etcd3;
    beforeAll(() => {
      client = connect();
    });
    // Registered after useCluster, so it runs before the cluster stops (after-hooks run in reverse).
    afterAll(() => {
      for (const c of clients) c.close();
    });

    it('put, get, exists, getPrevious, revisions and versions', async () => {
      const put = await client.put('kv/k').value('v1').exec();
      const r = Number(put.header.revision);
      expect(put.prev_kv).toBeNull();
      expect(await client.get('kv/k').string()).toBe('v1');
      expect(await client.get('kv/missing').string()).toBeNull();
      expect(await client.get('kv/k').exists()).toBe(true);
      expect(await client.get('kv/missing').exists()).toBe(false);
      const prev = await client.put('kv/k').value('v2').getPrevious();
      expect(prev.value.toString()).toBe('v1');
      expect(String(prev.header.revision)).toBe(String(r + 1));
      const res = await client.get('kv/k').exec();
      expect(res.kvs).toHaveLength(1);
      const kv = res.kvs[0]!;
      expect([String(kv.create_revision), String(kv.mod_revision), String(kv.version), kv.lease]).toEqual([
        String(r), String(r + 1), '2', '0',
      ]);
      expect(res.count).toBe('1');
      expect(res.more).toBe(false);
      expect(await client.get('kv/k').revision(r).string()).toBe('v1');
      await client.put('kv/n').value(42).exec();
      expect(await client.get('kv/n').number()).toBe(42);
      await client.put('kv/j').value(JSON.stringify({ a: [1, 2] })).exec();
      expect(await client.get('kv/j').json()).toEqual({ a: [1, 2] });
    });

    it('getAll: prefix, range, limit, sort, keys, count, serializable and revision filters', async () => {
      for (const [k, v] of [['b', '2'], ['a', '3'], ['c', '1'], ['d', '0']] as const) await client.put(`ga/${k}`).value(v).exec();
      await client.put('gb').value('outside').exec();
      expect(await client.getAll().prefix('ga/').strings()).toEqual({ 'ga/a': '3', 'ga/b': '2', 'ga/c': '1', 'ga/d': '0' });
      expect(await client.getAll().prefix('ga/').keys()).toEqual(['ga/a', 'ga/b', 'ga/c', 'ga/d']);
      expect(await client.getAll().prefix('ga/').count()).toBe(4);
      expect(await client.getAll().inRange(new Range('ga/b', 'ga/d')).keys()).toEqual(['ga/b', 'ga/c']);
      expect(await client.getAll().prefix('ga/').sort('Key', 'Descend').keys()).toEqual(['ga/d', 'ga/c', 'ga/b', 'ga/a']);
      expect(await client.getAll().prefix('ga/').sort('Value', 'Ascend').keys()).toEqual(['ga/d', 'ga/c', 'ga/b', 'ga/a']);
      expect(await client.getAll().prefix('ga/').sort('Create', 'Ascend').limit(2).keys()).toEqual(['ga/b', 'ga/a']);
      const limited = await client.getAll().prefix('ga/').limit(1).exec();
      expect([limited.kvs.length, limited.count, limited.more]).toEqual([1, '4', true]);
      const keysOnly = await client.getAll().prefix('ga/').exec();
      expect(keysOnly.kvs.map((kv) => kv.key.toString())).toEqual(['ga/a', 'ga/b', 'ga/c', 'ga/d']);
      expect(await client.getAll().prefix('ga/').serializable(true).count()).toBe(4);
      const created = Number((await client.get('ga/c').exec()).kvs[0]!.create_revision);
      expect(await client.getAll().prefix('ga/').minCreateRevision(created).keys()).toEqual(['ga/c', 'ga/d']);
      expect(await client.getAll().prefix('ga/').maxModRevision(created - 1).keys()).toEqual(['ga/a', 'ga/b']);
    });

    it('delete: key, prefix, range and all-from, with previous values', async () => {
      for (const k of ['a', 'b', 'c', 'd']) await client.put(`del/${k}`).value(k).exec();
      const prev = await client.delete().key('del/a').getPrevious();
      expect(prev.map((kv) => [kv.key.toString(), kv.value.toString()])).toEqual([['del/a', 'a']]);
      expect((await client.delete().key('del/a').exec()).deleted).toBe('0');
      expect((await client.delete().range(new Range('del/b', 'del/d')).exec()).deleted).toBe('2');
      expect(await client.getAll().prefix('del/').keys()).toEqual(['del/d']);
      expect((await client.delete().prefix('del/').exec()).deleted).toBe('1');
      expect(await client.getAll().prefix('del/').count()).toBe(0);
    });

    it("etcd's errors: future and compacted revisions, too-large requests", async () => {
      const r = Number((await client.put('err/k').value('1').exec()).header.revision);
      await client.put('err/k').value('2').exec();
      const future = await client.get('err/k').revision(r + 1000).exec().catch((e: unknown) => e);
      expect(future).toBeInstanceOf(GRPCOutOfRangeError);
      expect((future as Error).message).toContain('etcdserver: mvcc: required revision is a future revision');
      await client.put('err/k').value(Buffer.alloc(1_600_000, 'x')).exec().then(
        () => expect.fail('a 1.6 MB put should be refused'),
        (e: unknown) => {
          expect(e).toBeInstanceOf(GRPCInvalidArgumentError);
          expect((e as Error).message).toContain('etcdserver: request is too large');
        },
      );
      // Compact through the cluster's KV service, as etcdctl does.
      await client.kv.compact({ revision: r + 1, physical: true });
      const compacted = await client.get('err/k').revision(r).exec().catch((e: unknown) => e);
      expect(compacted).toBeInstanceOf(GRPCOutOfRangeError);
      expect((compacted as Error).message).toContain('etcdserver: mvcc: required revision has been compacted');
      expect(await client.get('err/k').revision(r + 1).string()).toBe('2');
    });

    it('txn: if/then/else on value, version, create and mod', async () => {
      const r = Number((await client.put('txn/k').value('v1').exec()).header.revision);
      const yes = await client
        .if('txn/k', 'Value', '==', 'v1')
        .and('txn/k', 'Version', '==', 1)
        .and('txn/k', 'Create', '==', r)
        .and('txn/k', 'Mod', '<', r + 1)
        .then(client.put('txn/ok').value('yes'), client.get('txn/k'))
        .else(client.put('txn/failed').value('yes'))
        .commit();
      expect(yes.succeeded).toBe(true);
      expect(String(yes.header.revision)).toBe(String(r + 1));
      expect(yes.responses.map(responseKind)).toEqual(['response_put', 'response_range']);
      expect(yes.responses[1]!.response_range!.kvs[0]!.value.toString()).toBe('v1');
      expect(await client.get('txn/failed').string()).toBeNull();

      const no = await client
        .if('txn/k', 'Value', '>', 'v1')
        .then(client.put('txn/ok').value('no'))
        .else(client.get('txn/k'), client.delete().key('txn/ok'))
        .commit();
      expect(no.succeeded).toBe(false);
      expect(no.responses.map(responseKind)).toEqual(['response_range', 'response_delete_range']);
      expect(no.responses[1]!.response_delete_range!.deleted).toBe('1');
      expect(await client.get('txn/ok').string()).toBeNull();

      // Missing keys: version 0 matches, a value compare does not.
      expect((await client.if('txn/none', 'Version', '==', 0).then().commit()).succeeded).toBe(true);
      expect((await client.if('txn/none', 'Value', '==', '').then().commit()).succeeded).toBe(false);
    });

    it('watch a key: events in order with revisions; prefix watch with previous values', async () => {
      const keyWatcher = await client.watch().key('w/k').create();
      const prefixWatcher = await client.watch().prefix('w/').withPreviousKV().create();
      const onKey = record(keyWatcher);
      const onPrefix = record(prefixWatcher);
      const r1 = Number((await client.put('w/k').value('1').exec()).header.revision);
      await client.put('w/other').value('x').exec();
      await client.put('w/k').value('2').exec();
      await client.delete().key('w/k').exec();
      await until(() => onKey.length >= 3 && onPrefix.length >= 4, 'watch events');
      expect(onKey).toEqual([
        { type: 'put', key: 'w/k', value: '1', modRevision: String(r1) },
        { type: 'put', key: 'w/k', value: '2', modRevision: String(r1 + 2) },
        { type: 'delete', key: 'w/k', value: '', modRevision: String(r1 + 3) },
      ]);
      expect(onPrefix).toEqual([
        { type: 'put', key: 'w/k', value: '1', modRevision: String(r1) },
        { type: 'put', key: 'w/other', value: 'x', modRevision: String(r1 + 1) },
        { type: 'put', key: 'w/k', value: '2', modRevision: String(r1 + 2), prev: '1' },
        { type: 'delete', key: 'w/k', value: '', modRevision: String(r1 + 3), prev: '2' },
      ]);
      // The client resumes from the last response header's revision + 1 (and keeps it as a string).
      expect(String(keyWatcher.lastRevision())).toBe(String(r1 + 4));
      await keyWatcher.cancel();
      await prefixWatcher.cancel();
      await client.put('w/k').value('after cancel').exec();
      await sleep(200);
      expect(onKey).toHaveLength(3);
    });

    it('watch from a past revision replays history', async () => {
      const r1 = Number((await client.put('wh/k').value('a').exec()).header.revision);
      await client.put('wh/k').value('b').exec();
      const watcher = await client.watch().key('wh/k').startRevision(String(r1)).create();
      const seen = record(watcher);
      await client.put('wh/k').value('c').exec();
      await until(() => seen.length >= 3, 'three events');
      expect(seen.map((e) => [e.value, e.modRevision])).toEqual([
        ['a', String(r1)],
        ['b', String(r1 + 1)],
        ['c', String(r1 + 2)],
      ]);
      await watcher.cancel();
    });

    it('leases: grant, put with a lease, keepaliveOnce, time to live, revoke removes keys', async () => {
      const lease = client.lease(30, { autoKeepAlive: false });
      const id = await lease.grant();
      expect(id).toMatch(/^\d+$/);
      await lease.put('lease/a').value('1').exec();
      await client.put('lease/b').value('2').lease(id).exec();
      const kv = (await client.get('lease/a').exec()).kvs[0]!;
      expect(kv.lease).toBe(id);
      const ka = await lease.keepaliveOnce();
      expect([ka.ID, ka.TTL]).toEqual([id, '30']);
      const ttl = await client.leaseClient.leaseTimeToLive({ ID: id, keys: true });
      expect(ttl.grantedTTL).toBe('30');
      expect(Number(ttl.TTL)).toBeGreaterThanOrEqual(28);
      expect(ttl.keys.map((k) => k.toString()).sort()).toEqual(['lease/a', 'lease/b']);
      const leases = await client.leaseClient.leaseLeases({});
      expect(leases.leases.map((l) => l.ID)).toContain(id);
      await lease.revoke();
      expect(lease.revoked()).toBe(true);
      expect(await client.getAll().prefix('lease/').count()).toBe(0);
      const gone = await client.leaseClient.leaseTimeToLive({ ID: id, keys: false });
      expect(gone.TTL).toBe('-1');
      const again = await client.put('lease/c').value('3').lease(id).exec().catch((e: unknown) => e);
      expect(again).toBeInstanceOf(EtcdLeaseInvalidError);
      expect((again as Error).message).toContain('etcdserver: requested lease not found');
    });

    it('an automatically kept-alive lease outlives its TTL; a lost one takes its keys', async () => {
      const kept = client.lease(2);
      await kept.put('alive/kept').value('k').exec();
      const lapsed = client.lease(2, { autoKeepAlive: false });
      await lapsed.put('alive/lapsed').value('l').exec();
      const watcher = await client.watch().prefix('alive/').create();
      const seen = record(watcher);
      await until(() => seen.length >= 1, 'the lapsed lease to expire', 15_000);
      expect(seen[0]).toMatchObject({ type: 'delete', key: 'alive/lapsed' });
      await sleep(1_500);
      expect(await client.getAll().prefix('alive/').keys()).toEqual(['alive/kept']);
      await kept.revoke();
      await until(() => seen.length >= 2, 'the revoke delete');
      expect(seen[1]).toMatchObject({ type: 'delete', key: 'alive/kept' });
      await watcher.cancel();
    });

    it('locks: two lockers on one key exclude each other', async () => {
      const other = connect();
      let inside = 0;
      let maxInside = 0;
      const critical = async (who: string) => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        await sleep(300);
        inside--;
        return who;
      };
      const results = await Promise.allSettled([
        client.lock('locks/x').ttl(10).do(() => critical('first')),
        other.lock('locks/x').ttl(10).do(() => critical('second')),
      ]);
      expect(maxInside).toBe(1);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(EtcdLockFailedError);
      // Released: the key is gone and the other locker gets it now.
      expect(await client.get('locks/x').exists()).toBe(false);
      const held = await other.lock('locks/x').ttl(10).acquire();
      expect(await client.get('locks/x').exists()).toBe(true);
      await expect(client.lock('locks/x').acquire()).rejects.toBeInstanceOf(EtcdLockFailedError);
      await held.release();
      expect(await client.get('locks/x').exists()).toBe(false);
      expect(await client.lock('locks/x').do(() => 'free again')).toBe('free again');
    });
  });
}
