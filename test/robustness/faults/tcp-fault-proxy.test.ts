import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpFaultProxy } from './tcp-fault-proxy.js';

/** Long enough for bytes to cross loopback many times over; "nothing arrived" waits this. */
const QUIET_MS = 150;

const cleanups: (() => unknown)[] = [];
/** Sockets of `paused` servers, whose reading the test resumes itself. */
const pausedSockets: net.Socket[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface TestServer {
  readonly port: number;
  /** Bytes the server has read. */
  received(): number;
  close(): Promise<void>;
}

/**
 * A server that echoes (or, with `greeting`, only greets and counts). Sockets are tracked so
 * close() can destroy them and leave no handles.
 */
async function startServer(options: { greeting?: string; paused?: boolean } = {}): Promise<TestServer> {
  let received = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    if (options.paused === true) pausedSockets.push(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => (received += chunk.byteLength));
    if (options.greeting !== undefined) socket.write(options.greeting);
    else if (options.paused === true) socket.pause();
    else socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  let closing: Promise<void> | undefined;
  const result: TestServer = {
    port: address.port,
    received: () => received,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
  cleanups.push(() => result.close());
  return result;
}

class Client {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private waiters: (() => void)[] = [];
  readonly closed: Promise<void>;
  isClosed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.bytes += chunk.byteLength;
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        for (const wake of this.waiters.splice(0)) wake();
        resolve();
      }),
    );
  }

  static async open(port: number): Promise<Client> {
    const socket = net.connect({ host: '127.0.0.1', port });
    const client = new Client(socket);
    cleanups.push(() => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return client;
  }

  received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get receivedBytes(): number {
    return this.bytes;
  }

  /** Resolves once `n` bytes arrived; rejects on close or timeout first. */
  async waitForBytes(n: number, timeoutMs = 5_000): Promise<Buffer> {
    const deadline = performance.now() + timeoutMs;
    while (this.bytes < n) {
      if (this.isClosed) throw new Error(`closed after ${this.bytes} of ${n} bytes`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out after ${this.bytes} of ${n} bytes`);
      await Promise.race([new Promise<void>((wake) => this.waiters.push(wake)), sleep(left)]);
    }
    return this.received();
  }
}

async function startProxy(options: Omit<Parameters<typeof TcpFaultProxy.start>[0], 'target'> & { targetPort: number }) {
  const { targetPort, ...rest } = options;
  const proxy = await TcpFaultProxy.start({ ...rest, target: { host: '127.0.0.1', port: targetPort } });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** Polls until `check` holds, so positive assertions do not depend on the machine's speed. */
async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** Deterministic uniform [0, 1) sequence (LCG), so jitter runs are reproducible. */
function seededRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('TcpFaultProxy', () => {
  it('forwards bytes both ways in pass mode', async () => {
    const echo = await startServer();
    const proxy = await startProxy({ targetPort: echo.port });
    const client = await Client.open(proxy.port);
    client.socket.write('hello');
    expect((await client.waitForBytes(5)).toString()).toBe('hello');
    expect(proxy.stats()).toMatchObject({ forwardedIn: 5, forwardedOut: 5, droppedIn: 0, droppedOut: 0, connections: 1 });
  });

  it('blackhole drops both ways; heal + reset lets a new connection work', async () => {
    const echo = await startServer();
    const proxy = await startProxy({ targetPort: echo.port });
    proxy.set({ kind: 'blackhole' });
    const stuck = await Client.open(proxy.port); // accepted, but nothing crosses
    stuck.socket.write('lost');
    await sleep(QUIET_MS);
    expect(echo.received()).toBe(0);
    expect(stuck.receivedBytes).toBe(0);
    expect(stuck.isClosed).toBe(false);
    expect(proxy.stats().droppedIn).toBe(4);

    proxy.heal();
    proxy.set({ kind: 'reset' });
    await stuck.closed;
    const fresh = await Client.open(proxy.port);
    fresh.socket.write('back');
    expect((await fresh.waitForBytes(4)).toString()).toBe('back');
    expect(proxy.stats().connections).toBe(2);
  });

  it("one-way 'in' blackhole drops client->server bytes but passes server->client bytes", async () => {
    const greeter = await startServer({ greeting: 'hi' });
    const proxy = await startProxy({ targetPort: greeter.port });
    proxy.set({ kind: 'blackhole' }, 'in');
    const client = await Client.open(proxy.port);
    expect((await client.waitForBytes(2)).toString()).toBe('hi');
    client.socket.write('data');
    await sleep(QUIET_MS);
    expect(greeter.received()).toBe(0);
    expect(proxy.stats()).toMatchObject({ droppedIn: 4, forwardedOut: 2, droppedOut: 0 });
  });

  it("one-way 'out' blackhole drops server->client bytes but passes client->server bytes", async () => {
    const greeter = await startServer({ greeting: 'hi' });
    const proxy = await startProxy({ targetPort: greeter.port });
    proxy.set({ kind: 'blackhole' }, 'out');
    const client = await Client.open(proxy.port);
    client.socket.write('data');
    await eventually(() => greeter.received() === 4 && proxy.stats().droppedOut === 2);
    await sleep(QUIET_MS);
    expect(client.receivedBytes).toBe(0);
    expect(proxy.stats()).toMatchObject({ forwardedIn: 4, droppedOut: 2 });
  });

  it('delay holds each chunk at least ms (+ jitter) and keeps order', async () => {
    const echo = await startServer();
    // rng pinned at 0.5: every chunk waits 60 + 0.5 * 40 = 80 ms, on the way in only.
    const proxy = await startProxy({ targetPort: echo.port, rng: () => 0.5 });
    proxy.set({ kind: 'delay', ms: 60, jitterMs: 40 }, 'in');
    const client = await Client.open(proxy.port);
    const started = performance.now();
    client.socket.write('ping');
    await client.waitForBytes(4);
    // Loose lower bound: timers may fire a millisecond early relative to performance.now().
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);

    // Random jitter larger than the gap between writes must not reorder the stream.
    const jittery = await startProxy({ targetPort: echo.port, rng: seededRng(7) });
    jittery.set({ kind: 'delay', ms: 5, jitterMs: 40 });
    const ordered = await Client.open(jittery.port);
    let sent = '';
    for (let i = 0; i < 30; i++) {
      const piece = `<${i}>`;
      sent += piece;
      ordered.socket.write(piece);
      await sleep(2);
    }
    expect((await ordered.waitForBytes(sent.length)).toString()).toBe(sent);
  });

  it('drop with probability 1 destroys the connection', async () => {
    const echo = await startServer();
    const proxy = await startProxy({ targetPort: echo.port });
    proxy.set({ kind: 'drop', probability: 1 });
    const client = await Client.open(proxy.port);
    client.socket.write('doomed');
    await client.closed;
    expect(client.receivedBytes).toBe(0);
    expect(echo.received()).toBe(0);
    expect(proxy.stats()).toMatchObject({ droppedIn: 6, forwardedIn: 0, openConnections: 0 });
  });

  it('drop with probability 0 passes everything', async () => {
    const echo = await startServer();
    const proxy = await startProxy({ targetPort: echo.port, rng: () => 0 });
    proxy.set({ kind: 'drop', probability: 0 });
    const client = await Client.open(proxy.port);
    client.socket.write('fine');
    expect((await client.waitForBytes(4)).toString()).toBe('fine');
  });

  it('bounds delayed bytes with backpressure under a huge write', async () => {
    const echo = await startServer();
    const cap = 512 * 1024;
    const proxy = await startProxy({ targetPort: echo.port, maxQueuedBytesPerDirection: cap });
    proxy.set({ kind: 'delay', ms: 10 });
    const client = await Client.open(proxy.port);
    const payload = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + (i >>> 11)) & 0xff;

    let sampledMax = 0;
    const sampler = setInterval(() => (sampledMax = Math.max(sampledMax, proxy.queuedBytes())), 1);
    try {
      client.socket.write(payload); // one write: without backpressure the proxy would queue it all
      const echoed = await client.waitForBytes(payload.length, 30_000);
      expect(echoed.equals(payload)).toBe(true);
    } finally {
      clearInterval(sampler);
    }
    expect(proxy.peakQueuedBytes()).toBeLessThanOrEqual(cap);
    expect(proxy.peakQueuedBytes()).toBeGreaterThan(cap / 4); // the queue was actually used
    expect(sampledMax).toBeLessThanOrEqual(2 * cap); // one connection, two directions
    expect(proxy.queuedBytes()).toBe(0);
    expect(proxy.stats()).toMatchObject({ forwardedIn: payload.length, forwardedOut: payload.length });
  });

  it('pass mode stops reading while the target does not (drain backpressure)', async () => {
    const sink = await startServer({ paused: true });
    const proxy = await startProxy({ targetPort: sink.port });
    const client = await Client.open(proxy.port);
    const payload = Buffer.alloc(64 * 1024 * 1024, 7);
    client.socket.write(payload);
    await sleep(300);
    // Without backpressure the proxy would have accepted (and buffered) all of it by now; with
    // it, only what kernel buffers and stream high-water marks hold has moved on.
    expect(proxy.stats().forwardedIn).toBeLessThan(payload.length / 2);
    for (const socket of pausedSockets.splice(0)) socket.resume();
    await eventually(() => sink.received() === payload.length, 30_000);
    expect(proxy.stats().forwardedIn).toBe(payload.length);
  });

  it('close() destroys connections, stops listening, and leaves no handles', async () => {
    const count = (): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
      return counts;
    };
    const kinds = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'];
    const before = count();

    const echo = await startServer();
    const proxy = await TcpFaultProxy.start({ target: { host: '127.0.0.1', port: echo.port } });
    const client = await Client.open(proxy.port);
    client.socket.write('a');
    await client.waitForBytes(1);
    proxy.set({ kind: 'delay', ms: 10_000 }); // leaves a pending timer and a queued chunk
    client.socket.write('b');
    await sleep(20);
    expect(proxy.queuedBytes()).toBe(1);

    await proxy.close();
    await client.closed;
    await expect(Client.open(proxy.port)).rejects.toThrow();
    client.socket.destroy();
    await echo.close();

    // Handles go away on the loop's next turns; poll briefly rather than assume one tick.
    const deadline = performance.now() + 2_000;
    for (;;) {
      const after = count();
      const leaked = kinds.filter((kind) => (after[kind] ?? 0) > (before[kind] ?? 0));
      if (leaked.length === 0) break;
      if (performance.now() > deadline) throw new Error(`leaked handles: ${leaked.join(', ')}`);
      await sleep(20);
    }
    expect(proxy.stats().openConnections).toBe(0);
    expect(proxy.queuedBytes()).toBe(0);
  });

  it('rejects invalid modes', async () => {
    const echo = await startServer();
    const proxy = await startProxy({ targetPort: echo.port });
    expect(() => proxy.set({ kind: 'drop', probability: 2 })).toThrow(RangeError);
    expect(() => proxy.set({ kind: 'delay', ms: -1 })).toThrow(RangeError);
    expect(proxy.mode('in')).toEqual({ kind: 'pass' });
  });
});
