/**
 * A TCP fault proxy for robustness tests: it sits in front of a Raft member's peer port and
 * forwards every accepted connection to the member, while a test switches faults at runtime
 * (blackhole, delay, connection-killing loss, reset), per byte direction.
 *
 * Directions are named from the dialing side: 'in' is client->target bytes, 'out' is
 * target->client bytes. kvfleet peers send Raft messages over gRPC streams they dial to the
 * receiver's peer URL, so on a connection from member i to member j, 'in' carries i's messages
 * and 'out' carries j's gRPC responses.
 *
 * Blackholing is lossy, not a pause: bytes read while a direction is blackholed are gone, so
 * after `heal()` an HTTP/2 stream that lost bytes mid-frame is usually broken. That is the
 * point (a partition loses in-flight data), so a harness that wants peers to reconnect cleanly
 * calls `set({ kind: 'reset' })` right after `heal()`, as network-faults.ts does.
 *
 * Memory stays bounded: delayed chunks wait in a per-connection, per-direction queue with a
 * byte cap, past which the reading socket is paused; in pass mode the reading socket is paused
 * while the writing one reports backpressure ('drain'). A blackholed direction buffers nothing.
 */
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';

export type FaultMode =
  | { kind: 'pass' }
  /** Connections are accepted and kept, every byte (and FIN) is read and discarded. */
  | { kind: 'blackhole' }
  /** Each chunk is forwarded after `ms` plus `rng() * jitterMs`; order is kept per direction. */
  | { kind: 'delay'; ms: number; jitterMs?: number }
  /**
   * "Packet loss" for a stream protocol: TCP users never see a hole in the stream, they see the
   * connection die, so each chunk destroys its connection (both sides) with this probability.
   */
  | { kind: 'drop'; probability: number }
  /** An action, not a state: destroy every current connection now; the direction(s) then pass. */
  | { kind: 'reset' };

export type FaultDirection = 'in' | 'out';

export interface TcpFaultProxyOptions {
  readonly target: { readonly host: string; readonly port: number };
  /** Port on 127.0.0.1; 0 or absent lets the system pick. */
  readonly listenPort?: number;
  /** Uniform in [0, 1); drives jitter and drop decisions so tests can pin them. */
  readonly rng?: () => number;
  /** Cap on delayed bytes held for one connection in one direction (at least 128 KiB). */
  readonly maxQueuedBytesPerDirection?: number;
}

export interface TcpFaultProxyStats {
  forwardedIn: number;
  forwardedOut: number;
  droppedIn: number;
  droppedOut: number;
  /** Connections accepted since start. */
  connections: number;
  /** Connections currently open. */
  openConnections: number;
}

type StoredMode = Exclude<FaultMode, { kind: 'reset' }>;

const PASS: StoredMode = { kind: 'pass' };
/** 4 MiB each way, so one connection holds at most 8 MiB of delayed bytes. */
const DEFAULT_QUEUE_CAP = 4 * 1024 * 1024;
/**
 * libuv reads at most 64 KiB per callback and a flowing Readable hands buffered chunks out one
 * at a time, so no 'data' chunk is larger; pausing once the queue is within this of the cap
 * makes the cap a hard bound instead of "cap plus one chunk".
 */
const MAX_READ_CHUNK = 64 * 1024;

const ignore = (): void => {};

/** What a connection needs from its proxy. */
interface ProxyCore {
  readonly cap: number;
  mode(direction: FaultDirection): StoredMode;
  rng(): number;
  forwarded(direction: FaultDirection, bytes: number): void;
  dropped(direction: FaultDirection, bytes: number): void;
  queued(delta: number, queueNow: number): void;
  gone(connection: Connection): void;
}

/** A queued chunk; `data === null` is a FIN, delayed like the bytes before it. */
interface QueuedItem {
  readonly data: Buffer | null;
  readonly due: number;
}

/** One byte direction of a connection. */
class Pipe {
  items: QueuedItem[] = [];
  head = 0;
  queuedBytes = 0;
  /** Due time of the last queued item; later items never go before it, keeping order. */
  lastDue = 0;
  timer: NodeJS.Timeout | undefined;
  waitingDrain = false;
  queueFull = false;
  paused = false;
  /** The source's FIN arrived while blackholed; delivered when the direction stops dropping. */
  finSwallowed = false;

  constructor(
    readonly direction: FaultDirection,
    readonly src: net.Socket,
    readonly dst: net.Socket,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: QueuedItem): void {
    this.items.push(item);
    this.queuedBytes += item.data?.byteLength ?? 0;
  }

  peek(): QueuedItem | undefined {
    return this.items[this.head];
  }

  shift(): QueuedItem {
    const item = this.items[this.head]!;
    this.items[this.head] = undefined as unknown as QueuedItem; // let the buffer be collected
    this.head++;
    this.queuedBytes -= item.data?.byteLength ?? 0;
    // Compact once the consumed prefix dominates, keeping shift O(1) amortized.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.queuedBytes = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** An accepted client socket and the upstream socket dialed for it. */
class Connection {
  private destroyed = false;
  private closedSockets = 0;
  private readonly pipes: readonly [Pipe, Pipe];

  constructor(
    private readonly core: ProxyCore,
    private readonly client: net.Socket,
    private readonly upstream: net.Socket,
  ) {
    // Raft heartbeats are small; Nagle would add latency the test did not ask for.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.pipes = [new Pipe('in', client, upstream), new Pipe('out', upstream, client)];
    for (const pipe of this.pipes) {
      pipe.src.on('data', (chunk: Buffer) => this.onData(pipe, chunk));
      pipe.src.on('end', () => this.onEnd(pipe));
      pipe.dst.on('drain', () => {
        pipe.waitingDrain = false;
        this.flush(pipe);
      });
    }
    for (const socket of [client, upstream]) {
      socket.on('close', (hadError: boolean) => this.onSocketClose(hadError));
    }
  }

  /** Kills both sockets; `reset` sends RST where possible, so peers notice at once. */
  destroy(reset: boolean): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const pipe of this.pipes) {
      if (pipe.queuedBytes > 0) {
        // Queued bytes never reach their destination: count them as dropped.
        this.core.dropped(pipe.direction, pipe.queuedBytes);
        this.core.queued(-pipe.queuedBytes, 0);
      }
      pipe.clear();
    }
    kill(this.client, reset);
    kill(this.upstream, reset);
    this.core.gone(this);
  }

  /** The proxy's mode for some direction changed: apply what depends on it. */
  modeChanged(): void {
    if (this.destroyed) return;
    for (const pipe of this.pipes) {
      if (pipe.finSwallowed && this.core.mode(pipe.direction).kind !== 'blackhole') {
        // Real TCP retransmits a FIN until acked; delivering it now avoids half-open zombies.
        pipe.finSwallowed = false;
        this.onEnd(pipe);
      }
      this.updateFlow(pipe);
    }
  }

  private onData(pipe: Pipe, chunk: Buffer): void {
    if (this.destroyed) return;
    const mode = this.core.mode(pipe.direction);
    switch (mode.kind) {
      case 'blackhole':
        this.core.dropped(pipe.direction, chunk.byteLength);
        return;
      case 'drop':
        if (this.core.rng() < mode.probability) {
          this.core.dropped(pipe.direction, chunk.byteLength);
          this.destroy(true);
          return;
        }
        this.forward(pipe, chunk, 0);
        return;
      case 'delay':
        this.forward(pipe, chunk, delayOf(mode, this.core));
        return;
      case 'pass':
        this.forward(pipe, chunk, 0);
        return;
    }
  }

  private onEnd(pipe: Pipe): void {
    if (this.destroyed) return;
    const mode = this.core.mode(pipe.direction);
    if (mode.kind === 'blackhole') {
      pipe.finSwallowed = true;
      return;
    }
    this.forward(pipe, null, mode.kind === 'delay' ? delayOf(mode, this.core) : 0);
  }

  private forward(pipe: Pipe, data: Buffer | null, delayMs: number): void {
    if (delayMs <= 0 && pipe.length === 0) {
      // Under backpressure the socket buffers this chunk; the source is already paused, so
      // at most a chunk or two lands there.
      this.deliver(pipe, data);
      return;
    }
    // Delayed, or behind items still delayed: queue, never before an earlier item.
    const due = Math.max(performance.now() + delayMs, pipe.lastDue);
    pipe.lastDue = due;
    pipe.push({ data, due });
    if (data !== null) this.core.queued(data.byteLength, pipe.queuedBytes);
    if (pipe.queuedBytes + MAX_READ_CHUNK > this.core.cap) pipe.queueFull = true;
    this.updateFlow(pipe);
    this.schedule(pipe);
  }

  private deliver(pipe: Pipe, data: Buffer | null): void {
    if (pipe.dst.destroyed || pipe.dst.writableEnded) {
      if (data !== null) this.core.dropped(pipe.direction, data.byteLength);
      return;
    }
    if (data === null) {
      pipe.dst.end();
      return;
    }
    this.core.forwarded(pipe.direction, data.byteLength);
    if (!pipe.dst.write(data)) {
      pipe.waitingDrain = true;
      this.updateFlow(pipe);
    }
  }

  private schedule(pipe: Pipe): void {
    const next = pipe.peek();
    if (pipe.timer !== undefined || next === undefined || pipe.waitingDrain) return;
    const wait = Math.max(0, next.due - performance.now());
    pipe.timer = setTimeout(() => {
      pipe.timer = undefined;
      this.flush(pipe);
    }, wait);
  }

  /** Delivers every due item, stopping at backpressure ('drain' calls back here). */
  private flush(pipe: Pipe): void {
    if (this.destroyed) return;
    const now = performance.now();
    while (!pipe.waitingDrain) {
      const next = pipe.peek();
      if (next === undefined || next.due > now) break;
      const item = pipe.shift();
      if (item.data !== null) this.core.queued(-item.data.byteLength, pipe.queuedBytes);
      this.deliver(pipe, item.data);
    }
    // Resume at half the cap, so a full queue does not flip pause/resume on every chunk.
    if (pipe.queueFull && pipe.queuedBytes <= this.core.cap / 2) pipe.queueFull = false;
    this.updateFlow(pipe);
    this.schedule(pipe);
  }

  /** Pauses the source while its bytes cannot move on; a blackholed source always flows. */
  private updateFlow(pipe: Pipe): void {
    if (this.destroyed) return;
    const blackholed = this.core.mode(pipe.direction).kind === 'blackhole';
    const pause = !blackholed && (pipe.waitingDrain || pipe.queueFull);
    if (pause === pipe.paused) return;
    pipe.paused = pause;
    if (pause) pipe.src.pause();
    else pipe.src.resume();
  }

  private onSocketClose(hadError: boolean): void {
    // An error on either side breaks the pair. A clean close (both halves finished) leaves the
    // other socket to finish flushing what is still queued for it and close on its own.
    if (hadError) this.destroy(true);
    if (++this.closedSockets === 2) this.core.gone(this);
  }
}

function delayOf(mode: { ms: number; jitterMs?: number }, core: ProxyCore): number {
  return mode.ms + (mode.jitterMs !== undefined && mode.jitterMs > 0 ? core.rng() * mode.jitterMs : 0);
}

function kill(socket: net.Socket, reset: boolean): void {
  if (socket.destroyed) return;
  if (reset && !socket.connecting) {
    try {
      socket.resetAndDestroy();
      return;
    } catch {
      // Not a TCP handle (or already gone): a plain destroy still frees it.
    }
  }
  socket.destroy();
}

function validate(mode: FaultMode): void {
  if (mode.kind === 'delay') {
    if (!(Number.isFinite(mode.ms) && mode.ms >= 0)) throw new RangeError(`delay ms must be >= 0, got ${mode.ms}`);
    const jitter = mode.jitterMs ?? 0;
    if (!(Number.isFinite(jitter) && jitter >= 0)) throw new RangeError(`jitterMs must be >= 0, got ${jitter}`);
  } else if (mode.kind === 'drop') {
    const p = mode.probability;
    if (!(p >= 0 && p <= 1)) throw new RangeError(`drop probability must be in [0, 1], got ${p}`);
  }
}

export class TcpFaultProxy {
  private readonly modes: Record<FaultDirection, StoredMode> = { in: PASS, out: PASS };
  private readonly connections = new Set<Connection>();
  private readonly counters = { forwardedIn: 0, forwardedOut: 0, droppedIn: 0, droppedOut: 0, connections: 0 };
  private readonly core: ProxyCore;
  private listeningPort = 0;
  private queuedTotal = 0;
  private queuedPeak = 0;
  private closing: Promise<void> | undefined;
  /** Bytes one connection may hold delayed in one direction. */
  readonly maxQueuedBytesPerDirection: number;

  private constructor(
    private readonly server: net.Server,
    private readonly options: TcpFaultProxyOptions,
  ) {
    this.maxQueuedBytesPerDirection = Math.max(
      2 * MAX_READ_CHUNK,
      options.maxQueuedBytesPerDirection ?? DEFAULT_QUEUE_CAP,
    );
    const rng = options.rng ?? Math.random;
    const counters = this.counters;
    this.core = {
      cap: this.maxQueuedBytesPerDirection,
      mode: (direction) => this.modes[direction],
      rng,
      forwarded: (direction, bytes) => {
        if (direction === 'in') counters.forwardedIn += bytes;
        else counters.forwardedOut += bytes;
      },
      dropped: (direction, bytes) => {
        if (direction === 'in') counters.droppedIn += bytes;
        else counters.droppedOut += bytes;
      },
      queued: (delta, queueNow) => {
        this.queuedTotal += delta;
        if (queueNow > this.queuedPeak) this.queuedPeak = queueNow;
      },
      gone: (connection) => {
        this.connections.delete(connection);
      },
    };
    server.on('connection', (socket) => this.accept(socket));
    // Accept failures (e.g. EMFILE) must not become unhandled 'error' events.
    server.on('error', ignore);
  }

  static async start(options: TcpFaultProxyOptions): Promise<TcpFaultProxy> {
    const server = net.createServer({ allowHalfOpen: true });
    const proxy = new TcpFaultProxy(server, options);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: options.listenPort ?? 0 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    proxy.listeningPort = typeof address === 'object' && address !== null ? address.port : 0;
    return proxy;
  }

  /** The port this proxy listens on, on 127.0.0.1. */
  get port(): number {
    return this.listeningPort;
  }

  /**
   * Sets the fault for new and existing connections, per direction: 'in' is client->target
   * bytes, 'out' is target->client bytes (for one-way partitions). A mode applies to chunks as
   * they arrive; chunks already delayed are still delivered.
   */
  set(mode: FaultMode, direction: 'both' | FaultDirection = 'both'): void {
    validate(mode);
    const stored: StoredMode = mode.kind === 'reset' ? PASS : { ...mode };
    if (direction !== 'out') this.modes.in = stored;
    if (direction !== 'in') this.modes.out = stored;
    if (mode.kind === 'reset') {
      for (const connection of [...this.connections]) connection.destroy(true);
    } else {
      for (const connection of this.connections) connection.modeChanged();
    }
  }

  /** Back to pass both ways (existing connections are kept; see `set({ kind: 'reset' })`). */
  heal(): void {
    this.set(PASS, 'both');
  }

  /** The current mode of one direction. */
  mode(direction: FaultDirection): FaultMode {
    return this.modes[direction];
  }

  /** Bytes forwarded and dropped per direction, connections seen. */
  stats(): TcpFaultProxyStats {
    return { ...this.counters, openConnections: this.connections.size };
  }

  /** Delayed bytes held right now, over all connections and directions. */
  queuedBytes(): number {
    return this.queuedTotal;
  }

  /** The most any one connection has held delayed in one direction; never above the cap. */
  peakQueuedBytes(): number {
    return this.queuedPeak;
  }

  /** Destroys every connection and stops listening. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.closing = new Promise<void>((resolve) => {
        this.server.close(() => resolve());
      });
      for (const connection of [...this.connections]) connection.destroy(false);
    }
    return this.closing;
  }

  private accept(client: net.Socket): void {
    client.on('error', ignore);
    if (this.closing !== undefined) {
      client.destroy();
      return;
    }
    this.counters.connections++;
    const { host, port } = this.options.target;
    // Dialed even while blackholed, so the connection can carry bytes again after heal().
    const upstream = net.connect({ host, port, allowHalfOpen: true });
    upstream.on('error', ignore);
    this.connections.add(new Connection(this.core, client, upstream));
  }
}
