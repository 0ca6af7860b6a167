// The connection multiplexer on its own: a grpc-js server and a plain HTTP server behind one
// port, clients that send their first bytes slowly or nothing at all.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionMux, HTTP2_PREFACE, classify } from '../../src/net/connection-mux.js';

const PING = {
  path: '/test.Mux/Ping',
  requestStream: false,
  responseStream: false,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
} as const;

describe('classify', () => {
  it('needs the whole HTTP/2 preface for gRPC and one differing byte for HTTP', () => {
    expect(classify(Buffer.from('P'))).toBeUndefined();
    expect(classify(HTTP2_PREFACE.subarray(0, 23))).toBeUndefined();
    expect(classify(HTTP2_PREFACE)).toBe('grpc');
    expect(classify(Buffer.concat([HTTP2_PREFACE, Buffer.from('xyz')]))).toBe('grpc');
    expect(classify(Buffer.from('G'))).toBe('http');
    expect(classify(Buffer.from('PO'))).toBe('http');
    expect(classify(Buffer.from('PRI * HTTP/1.1'))).toBe('http');
  });
});

describe('ConnectionMux', () => {
  let grpcServer: grpc.Server;
  let http: HttpServer;
  let mux: ConnectionMux;
  let port: number;
  let client: grpc.Client | undefined;

  beforeEach(async () => {
    grpcServer = new grpc.Server();
    grpcServer.addService({ ping: PING }, { ping: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from('pong')) });
    const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    http = createHttpServer((req, res) => res.end(`http ${req.method} ${req.url}`));
    mux = new ConnectionMux({
      onGrpc: (s) => injector.injectConnection(s),
      onHttp: (s) => http.emit('connection', s),
      sniffTimeoutMs: 1000,
    });
    port = await mux.listen('127.0.0.1', 0);
  });

  afterEach(async () => {
    client?.close();
    client = undefined;
    const closing = mux.close(500);
    grpcServer.forceShutdown();
    http.closeAllConnections();
    await closing;
  });

  const ping = (): Promise<string> => {
    client ??= new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const c = client;
    return new Promise((resolve, reject) => {
      c.makeUnaryRequest(PING.path, PING.requestSerialize, PING.responseDeserialize, Buffer.from('ping'), { deadline: Date.now() + 5000 }, (err, res) =>
        err ? reject(err) : resolve(res!.toString()),
      );
    });
  };

  const rawHttp = (send: (s: Socket) => Promise<void>): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.on('end', () => resolve(out));
      s.on('error', reject);
      s.once('connect', () => void send(s).catch(reject));
    });

  const waitUntil = async (cond: () => boolean, ms = 3000): Promise<void> => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('condition not reached');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('serves gRPC and HTTP/1.1 on the same port, side by side', async () => {
    const [g, h] = await Promise.all([ping(), fetch(`http://127.0.0.1:${port}/hello?x=1`).then((r) => r.text())]);
    expect(g).toBe('pong');
    expect(h).toBe('http GET /hello?x=1');
    // Both again on the existing connections (gRPC's HTTP/2 session, fetch's keep-alive).
    expect(await ping()).toBe('pong');
    const post = await fetch(`http://127.0.0.1:${port}/p`, { method: 'POST', body: 'x' });
    expect(await post.text()).toBe('http POST /p');
  });

  it('routes a client that sends its request one byte at a time', async () => {
    const request = 'GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const answer = await rawHttp(async (s) => {
      for (const ch of request) {
        s.write(ch);
        await new Promise((r) => setTimeout(r, 2));
      }
    });
    expect(answer.startsWith('HTTP/1.1 200 OK')).toBe(true);
    expect(answer.endsWith('http GET /slow')).toBe(true);
  });

  it('routes an HTTP/2 preface that arrives one byte at a time to gRPC', async () => {
    // A raw HTTP/2 client: preface byte by byte, then an empty SETTINGS frame; gRPC's server
    // must answer with its own SETTINGS frame (type 4).
    const frames = await new Promise<Buffer>((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      s.on('error', reject);
      s.once('data', (d) => {
        resolve(d);
        s.destroy();
      });
      s.once('connect', async () => {
        for (const byte of HTTP2_PREFACE) {
          s.write(Buffer.of(byte));
          await new Promise((r) => setTimeout(r, 2));
        }
        s.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
      });
    });
    expect(frames[3]).toBe(4);
    expect(await ping()).toBe('pong');
  });

  it('forgets a client that closes before sending anything, and keeps serving', async () => {
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve, reject) => {
        const s = connect(port, '127.0.0.1');
        s.once('error', reject);
        s.once('connect', () => {
          s.end();
          resolve();
        });
      });
    }
    // And some that send part of the preface, then go away.
    for (let i = 0; i < 5; i++) {
      const s = connect(port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      s.write('PRI * HT');
      s.destroy();
    }
    await waitUntil(() => mux.undecidedCount === 0);
    expect(await ping()).toBe('pong');
    expect(await fetch(`http://127.0.0.1:${port}/after`).then((r) => r.text())).toBe('http GET /after');
  });

  it('closes a connection that stays silent past the sniff timeout', async () => {
    const s = connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    await waitUntil(() => mux.undecidedCount === 1);
    const closedAt = await new Promise<number>((resolve) => s.once('close', () => resolve(Date.now())));
    expect(closedAt).toBeGreaterThan(0);
    expect(mux.undecidedCount).toBe(0);
  });

  it('close() stops accepting and resolves even with connections still open', async () => {
    const idle = connect(port, '127.0.0.1');
    await new Promise((r) => idle.once('connect', r));
    await fetch(`http://127.0.0.1:${port}/keep`); // leaves a keep-alive connection in the HTTP server
    const started = Date.now();
    await mux.close(300);
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(fetch(`http://127.0.0.1:${port}/refused`)).rejects.toThrow();
    idle.destroy();
  });
});
