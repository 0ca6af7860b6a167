// Bad input over raw gRPC against a single member: malformed protobuf frames, oversized
// requests, invalid ranges, future and compacted revisions, unknown or invalid leases and
// invalid txns. Every expectation (status code and, where etcd's own rpctypes text is sent,
// the exact message) is etcd 3.4's real answer; kvfleet must give the same ones. After every
// case the member must still serve a Put and a linearizable Range.
//
// Not covered on purpose: a Range with an unknown sort_target (e.g. 99). etcd 3.4.23 has no
// sort option check (the "etcdserver: invalid sort option" error is 3.5+): applierV3backend.Range
// calls sort.Sort on a nil sorter and the member dies with a nil pointer panic, so no answer
// exists to be compatible with.
import * as grpc from '@grpc/grpc-js';
import { proto } from '@kvfleet/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { grpcTarget } from '../harness/probe.js';
import { compatTargets } from '../harness/targets.js';
import { useCluster } from '../harness/use-cluster.js';

const { status } = grpc;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const str = (v: unknown): string => String(v ?? 0);

type Init<T> = proto.Init<T>;

/** etcd's maximum request size (--max-request-bytes default, 1.5 MiB). */
const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

/**
 * Invalid protobuf, valid for no message. The field numbers are chosen so each is an error
 * whatever the message: field 15 is unknown to every request tried, and an unknown field
 * still has to be skipped over.
 */
const GARBAGE: Record<string, Buffer> = {
  // The first tag's varint has its continuation bit set and nothing follows.
  'a truncated varint': Buffer.from([0x80]),
  // Field 1 with wire type 0 and a truncated varint after it (field 1 is bytes or a message
  // in RangeRequest, PutRequest and TxnRequest, a varint in LeaseGrantRequest).
  'a wrong wire type with a truncated varint': Buffer.from([0x08, 0xff]),
  // Field 1, wire type 7 (no such wire type).
  'wire type 7': Buffer.from([0x0f, 0x01]),
  // Field 15, length-delimited, declaring 16 bytes with 1 present.
  'a length-delimited field running past the end': Buffer.from([0x7a, 0x10, 0x61]),
};

const UNARY_PATHS = [
  '/etcdserverpb.KV/Range',
  '/etcdserverpb.KV/Put',
  '/etcdserverpb.KV/Txn',
  '/etcdserverpb.Lease/LeaseGrant',
] as const;

const identity = (buf: Buffer): Buffer => buf;

/** Sends raw bytes as the request of a unary method; resolves with the error (or fails if none). */
function rawUnary(client: grpc.Client, path: string, body: Buffer): Promise<grpc.ServiceError> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(path, identity, identity, body, { deadline: Date.now() + 10_000 }, (err, res) => {
      if (err) resolve(err);
      else reject(new Error(`${path} accepted garbage and answered ${res?.toString('hex')}`));
    });
  });
}

/** Writes raw bytes on a Watch stream; resolves with every response received and the final status. */
function rawWatch(client: grpc.Client, body: Buffer): Promise<{ responses: Buffer[]; status: grpc.StatusObject }> {
  return new Promise((resolve) => {
    const call = client.makeBidiStreamRequest('/etcdserverpb.Watch/Watch', identity, identity, {
      deadline: Date.now() + 10_000,
    });
    const responses: Buffer[] = [];
    call.on('data', (d: Buffer) => responses.push(d));
    call.on('error', () => {}); // reported through 'status'
    call.on('status', (s: grpc.StatusObject) => resolve({ responses, status: s }));
    call.write(body);
  });
}

/** The rejection of a promise that must reject with a gRPC error. */
async function grpcError(p: Promise<unknown>): Promise<grpc.ServiceError> {
  const outcome = await p.then(
    (res) => ({ ok: true as const, res }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  if (outcome.ok) throw new Error(`expected a gRPC error, got ${JSON.stringify(outcome.res)}`);
  return outcome.err as grpc.ServiceError;
}

/** code + details of a gRPC error, for one toEqual. */
const codeAndText = (e: grpc.ServiceError) => ({ code: e.code, details: e.details });

type WatchResponse = proto.Decoded<proto.WatchResponse>;

/** The fields of a WatchResponse the assertions compare (int64s as decimal strings). */
function watchSummary(r: WatchResponse) {
  return {
    headerRevision: str(r.header?.revision),
    watchId: str(r.watchId),
    created: r.created,
    canceled: r.canceled,
    compactRevision: str(r.compactRevision),
    cancelReason: r.cancelReason,
    events: r.events.length,
  };
}

for (const target of compatTargets()) {
  describe.skipIf(!target.enabled)(`bad input against ${target.kind}`, () => {
    const cluster = useCluster({ kind: target.kind, size: 1 });
    let addr: string;
    let raw: grpc.Client;
    let kv: proto.ServiceClient<'KV'>;
    let lease: proto.ServiceClient<'Lease'>;
    let watch: proto.ServiceClient<'Watch'>;
    let healthChecks = 0;

    const range = (req: Init<proto.RangeRequest>) => proto.unaryCall(kv.Range.bind(kv), req);
    const put = (req: Init<proto.PutRequest>) => proto.unaryCall(kv.Put.bind(kv), req);
    const deleteRange = (req: Init<proto.DeleteRangeRequest>) => proto.unaryCall(kv.DeleteRange.bind(kv), req);
    const txn = (req: Init<proto.TxnRequest>) => proto.unaryCall(kv.Txn.bind(kv), req);
    const compact = (req: Init<proto.CompactionRequest>) => proto.unaryCall(kv.Compact.bind(kv), req);
    const leaseGrant = (req: Init<proto.LeaseGrantRequest>) => proto.unaryCall(lease.LeaseGrant.bind(lease), req);
    const leaseRevoke = (req: Init<proto.LeaseRevokeRequest>) => proto.unaryCall(lease.LeaseRevoke.bind(lease), req);
    const leaseTimeToLive = (req: Init<proto.LeaseTimeToLiveRequest>) =>
      proto.unaryCall(lease.LeaseTimeToLive.bind(lease), req);

    /** Opens a Watch stream, sends one create request and collects responses for `ms`. */
    async function watchFor(create: Init<proto.WatchCreateRequest>, until: (seen: WatchResponse[]) => boolean) {
      const stream = watch.Watch();
      const seen: WatchResponse[] = [];
      let failure: unknown;
      stream.on('data', (r: WatchResponse) => seen.push(r));
      stream.on('error', (e: unknown) => {
        failure = e;
      });
      stream.write({ createRequest: create });
      const deadline = Date.now() + 10_000;
      while (!until(seen) && failure === undefined && Date.now() < deadline) await sleep(20);
      // Anything else etcd would send arrives shortly after; give it the chance to show up.
      await sleep(300);
      stream.cancel();
      if (failure !== undefined && !until(seen)) throw failure;
      return seen;
    }

    beforeAll(() => {
      addr = grpcTarget(cluster().clientUrls[0]!);
      raw = new grpc.Client(addr, grpc.credentials.createInsecure());
      kv = proto.createClient('KV', addr);
      lease = proto.createClient('Lease', addr);
      watch = proto.createClient('Watch', addr);
    });

    // The member must survive every case: a Put and a linearizable Range on fresh connections.
    afterEach(async () => {
      const n = ++healthChecks;
      const freshKv = proto.createClient('KV', addr);
      try {
        const value = b(`ok-${n}`);
        await proto.unaryCall(freshKv.Put.bind(freshKv), { key: b('health/after-case'), value }, undefined, {
          deadline: Date.now() + 5_000,
        });
        const res = await proto.unaryCall(freshKv.Range.bind(freshKv), { key: b('health/after-case') }, undefined, {
          deadline: Date.now() + 5_000,
        });
        expect(res.kvs.map((k) => Buffer.from(k.value).toString())).toEqual([`ok-${n}`]);
      } finally {
        freshKv.close();
      }
    });

    afterAll(() => {
      for (const c of [raw, kv, lease, watch]) c?.close();
    });

    describe('malformed protobuf frames', () => {
      // etcd (grpc-go) answers INTERNAL "grpc: error unmarshalling request: <golang/protobuf
      // error>" on unary calls ("unexpected EOF", "proto: wrong wireType = 7 for field Key", ...)
      // and ends a stream with INTERNAL "grpc: failed to unmarshal the received message <error>".
      // That text is grpc-go's and gogo/protobuf's, so only the code is asserted.
      for (const path of UNARY_PATHS) {
        for (const [what, body] of Object.entries(GARBAGE)) {
          it(`${path}: ${what} -> INTERNAL`, async () => {
            const err = await rawUnary(raw, path, body);
            expect(err.code).toBe(status.INTERNAL);
          });
        }
      }

      for (const [what, body] of Object.entries(GARBAGE)) {
        it(`Watch stream: ${what} -> the stream ends with INTERNAL, no response`, async () => {
          const { responses, status: final } = await rawWatch(raw, body);
          expect(final.code).toBe(status.INTERNAL);
          expect(responses).toEqual([]);
        });
      }
    });

    describe('oversized requests', () => {
      it('a Put of a 1.5 MiB + 1 byte value: INVALID_ARGUMENT "etcdserver: request is too large"', async () => {
        const err = await grpcError(put({ key: b('big/k'), value: Buffer.alloc(MAX_REQUEST_BYTES + 1, 0x78) }));
        expect(codeAndText(err)).toEqual({ code: status.INVALID_ARGUMENT, details: 'etcdserver: request is too large' });
        expect((await range({ key: b('big/k') })).kvs).toEqual([]);
      });

      it('a Put of a 3 MiB value is over the gRPC receive limit: RESOURCE_EXHAUSTED', async () => {
        const err = await grpcError(put({ key: b('big/k'), value: Buffer.alloc(3 * 1024 * 1024, 0x78) }));
        // etcd: "grpc: received message larger than max (3145738 vs. 2097152)" (grpc-go's text;
        // the limit is --max-request-bytes + 512 KiB), so only the code is asserted.
        expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
        expect((await range({ key: b('big/k') })).kvs).toEqual([]);
      });
    });

    describe('invalid ranges', () => {
      it('Range with range_end < key: an empty result, no error', async () => {
        await put({ key: b('ir/b'), value: b('1') });
        await put({ key: b('ir/c'), value: b('2') });
        const res = await range({ key: b('ir/c'), rangeEnd: b('ir/a') });
        expect([res.kvs.length, str(res.count), res.more]).toEqual([0, '0', false]);
        const equal = await range({ key: b('ir/b'), rangeEnd: b('ir/b') });
        expect([equal.kvs.length, str(equal.count), equal.more]).toEqual([0, '0', false]);
      });

      it('DeleteRange with range_end < key: deletes nothing, no error', async () => {
        await put({ key: b('ird/b'), value: b('1') });
        const res = await deleteRange({ key: b('ird/c'), rangeEnd: b('ird/a'), prevKv: true });
        expect([str(res.deleted), res.prevKvs.length]).toEqual(['0', 0]);
        expect((await range({ key: b('ird/b') })).kvs).toHaveLength(1);
      });

      it('an empty key: INVALID_ARGUMENT "etcdserver: key is not provided" on Range, Put, DeleteRange and in a Txn', async () => {
        const expected = { code: status.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' };
        expect(codeAndText(await grpcError(range({ key: b('') })))).toEqual(expected);
        expect(codeAndText(await grpcError(put({ key: b(''), value: b('x') })))).toEqual(expected);
        expect(codeAndText(await grpcError(deleteRange({ key: b('') })))).toEqual(expected);
        expect(
          codeAndText(await grpcError(txn({ success: [{ requestPut: { key: b(''), value: b('x') } }] }))),
        ).toEqual(expected);
      });

      it('an unknown sort_order (99, -1) with sort_target KEY: etcd 3.4 ignores it, kvfleet answers as etcd 3.5', async () => {
        await put({ key: b('so/b'), value: b('1') });
        await put({ key: b('so/a'), value: b('2') });
        await put({ key: b('so/c'), value: b('0') });
        for (const sortOrder of [99, -1]) {
          if (target.kind === 'etcd') {
            // etcd 3.4 does not validate sort options: an unknown order with target KEY sorts
            // nothing, and the backend's key order is returned.
            const res = await range({ key: b('so/'), rangeEnd: b('so0'), sortOrder });
            expect(res.kvs.map((k) => Buffer.from(k.key).toString())).toEqual(['so/a', 'so/b', 'so/c']);
            expect(str(res.count)).toBe('3');
          } else {
            // kvfleet speaks etcd 3.5's API, which refuses them (docs/compatibility.md).
            expect(codeAndText(await grpcError(range({ key: b('so/'), rangeEnd: b('so0'), sortOrder })))).toEqual({
              code: status.INVALID_ARGUMENT,
              details: 'etcdserver: invalid sort option',
            });
          }
        }
      });

      it('a Watch with range_end <= key: created and canceled at once, watch_id -1, "mvcc: watcher range is empty"', async () => {
        for (const rangeEnd of ['iw/a', 'iw/k']) {
          const seen = await watchFor({ key: b('iw/k'), rangeEnd: b(rangeEnd) }, (s) => s.length >= 1);
          const rev = str((await range({ key: b('iw/k') })).header?.revision);
          expect(seen.map(watchSummary)).toEqual([
            {
              headerRevision: rev,
              watchId: '-1',
              created: true,
              canceled: true,
              compactRevision: '0',
              cancelReason: 'mvcc: watcher range is empty',
              events: 0,
            },
          ]);
        }
      });
    });

    describe('revisions', () => {
      /** Set by the compaction case for the next one. */
      let compactedAt: { compactRev: number; lastPut: number } | undefined;

      it('Range at a future revision: OUT_OF_RANGE "etcdserver: mvcc: required revision is a future revision"', async () => {
        const r = Number((await put({ key: b('rf/k'), value: b('1') })).header?.revision);
        const expected = { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision is a future revision' };
        expect(codeAndText(await grpcError(range({ key: b('rf/k'), revision: r + 1000 })))).toEqual(expected);
        expect(
          codeAndText(await grpcError(range({ key: b('rf/k'), revision: r + 1000, serializable: true }))),
        ).toEqual(expected);
      });

      it('Compact, Range and Watch around compacted and future revisions', async () => {
        const r1 = Number((await put({ key: b('rc/k'), value: b('1') })).header?.revision);
        await put({ key: b('rc/k'), value: b('2') });
        const r3 = Number((await put({ key: b('rc/k'), value: b('3') })).header?.revision);
        expect(r3).toBe(r1 + 2);
        const future = { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision is a future revision' };
        const compacted = { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision has been compacted' };

        // Compact to a future revision.
        expect(codeAndText(await grpcError(compact({ revision: r3 + 100 })))).toEqual(future);
        // Compact to r1 + 1 (physical, so later reads see it done), then again and below it.
        const done = await compact({ revision: r1 + 1, physical: true });
        expect(str(done.header?.revision)).toBe(String(r3));
        expect(codeAndText(await grpcError(compact({ revision: r1 + 1 })))).toEqual(compacted);
        expect(codeAndText(await grpcError(compact({ revision: r1 })))).toEqual(compacted);

        // Range below the compaction revision; at it, the value of that revision.
        expect(codeAndText(await grpcError(range({ key: b('rc/k'), revision: r1 })))).toEqual(compacted);
        const at = await range({ key: b('rc/k'), revision: r1 + 1 });
        expect(at.kvs.map((k) => Buffer.from(k.value).toString())).toEqual(['2']);

        // A Watch from a compacted revision: created, then canceled with compact_revision set
        // (etcd sends that second response with header.revision 0 and no cancel_reason).
        const seen = await watchFor({ key: b('rc/k'), startRevision: r1 }, (s) => s.length >= 2);
        expect(seen.map(watchSummary)).toEqual([
          {
            headerRevision: String(r3),
            watchId: '0',
            created: true,
            canceled: false,
            compactRevision: '0',
            cancelReason: '',
            events: 0,
          },
          {
            headerRevision: '0',
            watchId: '0',
            created: false,
            canceled: true,
            compactRevision: String(r1 + 1),
            cancelReason: '',
            events: 0,
          },
        ]);

        compactedAt = { compactRev: r1 + 1, lastPut: r3 };
      });

      it('a Watch from exactly the compaction revision: replays from it', async () => {
        // Uses the compaction done by the previous case.
        expect(compactedAt).toBeDefined();
        const { compactRev, lastPut } = compactedAt!;
        // The health check after the previous case has written since.
        const current = Number((await range({ key: b('rc/k') })).header?.revision);
        const replay = await watchFor({ key: b('rc/k'), startRevision: compactRev }, (s) => s.length >= 2);
        // Revision compactRev was a put, which kvfleet's compaction keeps, so kvfleet replays
        // from it like etcd. (Had that revision deleted a key, kvfleet, whose compaction drops
        // the tombstone etcd keeps, would cancel with compact_revision + 1: docs/compatibility.md.)
        expect(replay.map(watchSummary)).toEqual([
          { headerRevision: String(current), watchId: '0', created: true, canceled: false, compactRevision: '0', cancelReason: '', events: 0 },
          { headerRevision: String(current), watchId: '0', created: false, canceled: false, compactRevision: '0', cancelReason: '', events: 2 },
        ]);
        const events = replay[1]!.events.map((e) => [str(e.kv?.modRevision), Buffer.from(e.kv?.value ?? []).toString()]);
        expect(events).toEqual([
          [String(compactRev), '2'],
          [String(lastPut), '3'],
        ]);
      });
    });

    describe('leases', () => {
      const UNKNOWN = '123456789';
      const notFound = { code: status.NOT_FOUND, details: 'etcdserver: requested lease not found' };

      it('Put with an unknown lease: NOT_FOUND "etcdserver: requested lease not found"', async () => {
        expect(codeAndText(await grpcError(put({ key: b('lu/k'), value: b('v'), lease: UNKNOWN })))).toEqual(notFound);
        expect((await range({ key: b('lu/k') })).kvs).toEqual([]);
      });

      it('LeaseRevoke of an unknown lease: NOT_FOUND "etcdserver: requested lease not found"', async () => {
        expect(codeAndText(await grpcError(leaseRevoke({ ID: UNKNOWN })))).toEqual(notFound);
      });

      it('LeaseTimeToLive of an unknown lease: no error, the ID echoed, TTL -1', async () => {
        const res = await leaseTimeToLive({ ID: UNKNOWN, keys: true });
        expect([str(res.ID), str(res.TTL), str(res.grantedTTL), res.keys.length]).toEqual([UNKNOWN, '-1', '0', 0]);
      });

      it('LeaseKeepAlive of an unknown lease: one response, the ID echoed, TTL 0; the stream stays open', async () => {
        const stream = lease.LeaseKeepAlive();
        const seen: proto.Decoded<proto.LeaseKeepAliveResponse>[] = [];
        let failure: unknown;
        stream.on('data', (r: proto.Decoded<proto.LeaseKeepAliveResponse>) => seen.push(r));
        stream.on('error', (e: unknown) => {
          failure = e;
        });
        stream.write({ ID: UNKNOWN });
        const deadline = Date.now() + 10_000;
        while (seen.length === 0 && failure === undefined && Date.now() < deadline) await sleep(20);
        await sleep(300);
        expect(failure).toBeUndefined();
        expect(seen.map((r) => [str(r.ID), str(r.TTL)])).toEqual([[UNKNOWN, '0']]);
        // The stream still answers.
        stream.write({ ID: UNKNOWN });
        while (seen.length < 2 && failure === undefined && Date.now() < deadline) await sleep(20);
        expect(failure).toBeUndefined();
        expect(seen.map((r) => [str(r.ID), str(r.TTL)])).toEqual([[UNKNOWN, '0'], [UNKNOWN, '0']]);
        stream.cancel();
      });

      it('LeaseGrant with TTL 9000000001: OUT_OF_RANGE "etcdserver: too large lease TTL"; 9000000000 is granted', async () => {
        expect(codeAndText(await grpcError(leaseGrant({ TTL: '9000000001', ID: 0 })))).toEqual({
          code: status.OUT_OF_RANGE,
          details: 'etcdserver: too large lease TTL',
        });
        const max = await leaseGrant({ TTL: '9000000000', ID: '4242' });
        expect([str(max.ID), str(max.TTL), max.error]).toEqual(['4242', '9000000000', '']);
        await leaseRevoke({ ID: '4242' });
      });

      it('LeaseGrant with an ID that already exists: FAILED_PRECONDITION "etcdserver: lease already exists"', async () => {
        const first = await leaseGrant({ TTL: 60, ID: '4343' });
        expect(str(first.ID)).toBe('4343');
        expect(codeAndText(await grpcError(leaseGrant({ TTL: 60, ID: '4343' })))).toEqual({
          code: status.FAILED_PRECONDITION,
          details: 'etcdserver: lease already exists',
        });
        const ttl = await leaseTimeToLive({ ID: '4343' });
        expect(str(ttl.grantedTTL)).toBe('60');
        await leaseRevoke({ ID: '4343' });
      });
    });

    describe('txn', () => {
      const putOp = (key: string, value = 'x'): Init<proto.RequestOp> => ({ requestPut: { key: b(key), value: b(value) } });
      const invalid = (details: string) => ({ code: status.INVALID_ARGUMENT, details });

      it('more than 128 ops (success, failure or compare): "etcdserver: too many operations in txn request"; 128 is fine', async () => {
        const ops = (n: number) => Array.from({ length: n }, (_, i) => putOp(`tm/${i}`));
        const tooMany = invalid('etcdserver: too many operations in txn request');
        expect(codeAndText(await grpcError(txn({ success: ops(129) })))).toEqual(tooMany);
        expect(codeAndText(await grpcError(txn({ failure: ops(129) })))).toEqual(tooMany);
        const compares = Array.from({ length: 129 }, (_, i) => ({ key: b(`tm/${i}`), target: 0, result: 0, version: 0 }));
        expect(codeAndText(await grpcError(txn({ compare: compares })))).toEqual(tooMany);
        expect((await range({ key: b('tm/'), rangeEnd: b('tm0'), countOnly: true })).count.toString()).toBe('0');
        const ok = await txn({ success: ops(128) });
        expect([ok.succeeded, ok.responses.length]).toEqual([true, 128]);
      });

      it('the same key put twice, or put and deleted, in one branch: "etcdserver: duplicate key given in txn request"', async () => {
        const dup = invalid('etcdserver: duplicate key given in txn request');
        expect(
          codeAndText(await grpcError(txn({ success: [putOp('td/k'), { requestDeleteRange: { key: b('td/k') } }] }))),
        ).toEqual(dup);
        expect(codeAndText(await grpcError(txn({ success: [putOp('td/k'), putOp('td/k', 'y')] })))).toEqual(dup);
        expect(
          codeAndText(
            await grpcError(txn({ success: [putOp('td/k'), { requestDeleteRange: { key: b('td/'), rangeEnd: b('td0') } }] })),
          ),
        ).toEqual(dup);
        expect((await range({ key: b('td/k') })).kvs).toEqual([]);
        // In different branches the same key is fine.
        const ok = await txn({ success: [putOp('td/k')], failure: [{ requestDeleteRange: { key: b('td/k') } }] });
        expect([ok.succeeded, ok.responses.length]).toEqual([true, 1]);
      });

      it('ignore_value with a value: "etcdserver: value is provided"; ignore_lease with a lease: "etcdserver: lease is provided"', async () => {
        await put({ key: b('ti/k'), value: b('v') });
        const valueProvided = invalid('etcdserver: value is provided');
        const leaseProvided = invalid('etcdserver: lease is provided');
        expect(codeAndText(await grpcError(put({ key: b('ti/k'), value: b('w'), ignoreValue: true })))).toEqual(valueProvided);
        expect(
          codeAndText(await grpcError(txn({ success: [{ requestPut: { key: b('ti/k'), value: b('w'), ignoreValue: true } }] }))),
        ).toEqual(valueProvided);
        expect(codeAndText(await grpcError(put({ key: b('ti/k'), lease: '123', ignoreLease: true })))).toEqual(leaseProvided);
        expect(
          codeAndText(await grpcError(txn({ success: [{ requestPut: { key: b('ti/k'), lease: '123', ignoreLease: true } }] }))),
        ).toEqual(leaseProvided);
        expect((await range({ key: b('ti/k') })).kvs.map((k) => Buffer.from(k.value).toString())).toEqual(['v']);
      });

      it('ignore_value or ignore_lease on a missing key: "etcdserver: key not found"', async () => {
        const notFound = invalid('etcdserver: key not found');
        expect(codeAndText(await grpcError(put({ key: b('tn/missing'), ignoreValue: true })))).toEqual(notFound);
        expect(codeAndText(await grpcError(put({ key: b('tn/missing'), ignoreLease: true })))).toEqual(notFound);
        expect(
          codeAndText(await grpcError(txn({ success: [{ requestPut: { key: b('tn/missing'), ignoreValue: true } }] }))),
        ).toEqual(notFound);
        expect((await range({ key: b('tn/missing') })).kvs).toEqual([]);
      });
    });
  });
}
