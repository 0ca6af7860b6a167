import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientConstructor,
  createClient,
  int64ToBigInt,
  int64ToNumber,
  serviceDefinition,
  unaryCall,
  type RangeRequest,
  type ServiceClient,
  type ServiceHandlers,
  type WatchRequest,
} from '../../src/proto/index.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

const unimplemented = (): void => {
  throw new Error('not used in this test');
};

describe('grpc-js round trip', () => {
  let server: grpc.Server;
  let address: string;
  let seen: RangeRequest | undefined;

  beforeAll(async () => {
    server = new grpc.Server();
    const kv: ServiceHandlers<'KV'> = {
      Range: (call, callback) => {
        seen = call.request;
        callback(null, {
          header: { clusterId: 1, memberId: '18446744073709551615', revision: 42, raftTerm: 3 },
          kvs: [{ key: call.request.key, value: utf8('bar'), createRevision: 5, modRevision: 41, version: 2 }],
          count: 1,
          more: false,
        });
      },
      Put: unimplemented,
      DeleteRange: unimplemented,
      Txn: unimplemented,
      Compact: unimplemented,
    };
    server.addService(serviceDefinition('KV'), kv);
    const watch: ServiceHandlers<'Watch'> = {
      Watch: (call) => {
        call.on('data', (req: WatchRequest) => {
          if (req.requestUnion === 'createRequest') {
            call.write({ header: { revision: 7 }, watchId: 0, created: true });
          } else if (req.requestUnion === 'cancelRequest') {
            call.write({ watchId: req.cancelRequest!.watchId, canceled: true, cancelReason: 'bye' });
            call.end();
          }
        });
      },
    };
    server.addService(serviceDefinition('Watch'), watch);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    address = `127.0.0.1:${port}`;
  });

  afterAll(() => {
    server.forceShutdown();
  });

  it('uses etcd method paths', () => {
    const def = serviceDefinition('KV');
    expect(def.Range.path).toBe('/etcdserverpb.KV/Range');
    expect(serviceDefinition('Watch').Watch.requestStream).toBe(true);
    expect(serviceDefinition('Maintenance').Snapshot.responseStream).toBe(true);
    expect(serviceDefinition('Election').Observe.path).toBe('/v3electionpb.Election/Observe');
    expect(serviceDefinition('Lock').Unlock.path).toBe('/v3lockpb.Lock/Unlock');
    expect(serviceDefinition('KV')).toBe(def); // built once
  });

  it('serves KV.Range to a generated client', async () => {
    const Ctor = clientConstructor('KV');
    const client: ServiceClient<'KV'> = new Ctor(address, grpc.credentials.createInsecure());
    try {
      const res = await unaryCall(client.Range.bind(client), { key: utf8('foo'), limit: 10, serializable: true });
      expect(seen).toBeDefined();
      expect(text(seen!.key)).toBe('foo');
      expect(seen!.rangeEnd.length).toBe(0);
      expect(int64ToNumber(seen!.limit, 'limit')).toBe(10);
      expect(seen!.serializable).toBe(true);
      expect(seen!.countOnly).toBe(false);

      expect(int64ToNumber(res.header!.revision, 'revision')).toBe(42);
      expect(int64ToBigInt(res.header!.memberId)).toBe(2n ** 64n - 1n);
      expect(res.kvs).toHaveLength(1);
      expect(text(res.kvs[0]!.key)).toBe('foo');
      expect(text(res.kvs[0]!.value)).toBe('bar');
      expect(int64ToNumber(res.kvs[0]!.modRevision, 'modRevision')).toBe(41);
      expect(int64ToNumber(res.count, 'count')).toBe(1);
      expect(res.more).toBe(false);
    } finally {
      client.close();
    }
  });

  it('reports unimplemented handlers as gRPC errors', async () => {
    const client = createClient('KV', address);
    try {
      await expect(unaryCall(client.Put.bind(client), { key: utf8('k') })).rejects.toMatchObject({
        code: grpc.status.UNKNOWN,
      });
    } finally {
      client.close();
    }
  });

  it('streams Watch both ways', async () => {
    const client = createClient('Watch', address);
    try {
      const stream = client.Watch();
      const got: { created: boolean; canceled: boolean; reason: string; rev: number }[] = [];
      const done = new Promise<void>((resolve, reject) => {
        stream.on('data', (res) => {
          got.push({
            created: res.created,
            canceled: res.canceled,
            reason: res.cancelReason,
            rev: res.header ? int64ToNumber(res.header.revision, 'revision') : -1,
          });
          if (res.created) stream.write({ cancelRequest: { watchId: 0 } });
        });
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      stream.write({ createRequest: { key: utf8('a'), prevKv: true } });
      await done;
      expect(got).toEqual([
        { created: true, canceled: false, reason: '', rev: 7 },
        { created: false, canceled: true, reason: 'bye', rev: -1 },
      ]);
    } finally {
      client.close();
    }
  });
});
