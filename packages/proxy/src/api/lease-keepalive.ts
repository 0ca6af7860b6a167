/**
 * LeaseKeepAlive for many client streams over ONE upstream keep-alive stream.
 *
 * Each client request names a lease ID. One upstream request per ID is in flight at a time:
 * clients keeping the same lease alive share it, and its response goes back to every client
 * stream waiting on that ID. If the upstream stream breaks it is reopened (bounded backoff)
 * and every ID still waiting is sent again, so clients only see a late answer.
 *
 * Bounds: a client stream waits on at most `maxPendingPerStream` IDs (more requests are
 * dropped; etcd clients resend every TTL/3), and at most `maxPendingIds` IDs wait in total.
 */
import * as grpc from '@grpc/grpc-js';
import { proto } from '@kvfleet/core';
import Long from 'long';
import type { Upstream } from '../upstream/upstream.js';

export interface LeaseKeepAliveOptions {
  readonly maxPendingPerStream?: number;
  readonly maxPendingIds?: number;
  readonly log?: (message: string) => void;
}

type Req = proto.LeaseKeepAliveRequest;
type Res = proto.LeaseKeepAliveResponse;
type UpstreamStream = grpc.ClientDuplexStream<proto.Init<Req>, proto.Decoded<Res>>;

const BACKOFF_MS_MIN = 100;
const BACKOFF_MS_MAX = 2_000;

/** One client stream's ids awaiting an answer. */
interface ClientStream {
  readonly call: grpc.ServerDuplexStream<Req, Res>;
  readonly pending: Set<string>;
  /** The client sent its last request: end the stream once its answers are out, as etcd does. */
  halfClosed: boolean;
}

export class LeaseKeepAliveCoalescer {
  /** Lease ID (decimal) → the client streams waiting on it. */
  private readonly waiting = new Map<string, Set<ClientStream>>();
  private stream: UpstreamStream | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private backoff = BACKOFF_MS_MIN;
  private closed = false;
  private readonly maxPendingPerStream: number;
  private readonly maxPendingIds: number;
  /** Requests written upstream (for tests and metrics). */
  upstreamRequests = 0;

  constructor(
    private readonly upstream: Upstream,
    private readonly options: LeaseKeepAliveOptions = {},
  ) {
    this.maxPendingPerStream = options.maxPendingPerStream ?? 1_024;
    this.maxPendingIds = options.maxPendingIds ?? 100_000;
  }

  /** The grpc-js handler for Lease.LeaseKeepAlive (decoded messages). */
  handler(): grpc.handleBidiStreamingCall<Req, Res> {
    return (call) => {
      const client: ClientStream = { call, pending: new Set(), halfClosed: false };
      call.on('data', (req: Req) => {
        this.request(client, idKey(req.ID));
      });
      const leave = () => this.forget(client);
      // A one-shot client (python etcd3's refresh) half-closes right after its request.
      call.on('end', () => {
        client.halfClosed = true;
        if (client.pending.size === 0) call.end();
      });
      call.on('cancelled', leave);
      call.on('error', leave);
    };
  }

  /** Number of lease IDs awaiting an upstream answer. */
  get pendingIds(): number {
    return this.waiting.size;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reopenTimer);
    this.stream?.cancel();
    this.stream = undefined;
    for (const set of this.waiting.values()) for (const c of set) c.call.end();
    this.waiting.clear();
  }

  private request(client: ClientStream, id: string): void {
    if (this.closed) return;
    if (client.pending.has(id)) return; // already waiting: the answer will cover this one too
    if (client.pending.size >= this.maxPendingPerStream) return;
    let set = this.waiting.get(id);
    if (set === undefined) {
      if (this.waiting.size >= this.maxPendingIds) return;
      set = new Set();
      this.waiting.set(id, set);
      set.add(client);
      client.pending.add(id);
      this.send(id);
      return;
    }
    // An upstream request for this ID is in flight: share its answer.
    set.add(client);
    client.pending.add(id);
  }

  private send(id: string): void {
    const s = this.open();
    if (s === undefined) return; // reopening: every waiting ID is sent then
    this.upstreamRequests += 1;
    s.write({ ID: id });
  }

  private open(): UpstreamStream | undefined {
    if (this.stream !== undefined) return this.stream;
    if (this.reopenTimer !== undefined || this.closed) return undefined;
    const endpoint = this.upstream.endpoint;
    const client = this.upstream.client('Lease');
    const s = client.LeaseKeepAlive() as unknown as UpstreamStream;
    this.stream = s;
    s.on('data', (res: proto.Decoded<Res>) => {
      this.backoff = BACKOFF_MS_MIN;
      this.deliver(res);
    });
    const broken = (why: string) => {
      if (this.stream !== s) return;
      this.stream = undefined;
      s.cancel();
      if (this.closed) return;
      this.options.log?.(`upstream lease keep-alive stream on ${endpoint}: ${why}; reopening`);
      this.upstream.rotate(endpoint);
      this.reopenTimer = setTimeout(() => {
        this.reopenTimer = undefined;
        this.resendAll();
      }, this.backoff);
      this.reopenTimer.unref();
      this.backoff = Math.min(BACKOFF_MS_MAX, this.backoff * 2);
    };
    s.on('error', (e: Error) => broken(e.message));
    s.on('end', () => broken('ended'));
    return s;
  }

  private resendAll(): void {
    if (this.waiting.size === 0) return;
    for (const id of this.waiting.keys()) this.send(id);
  }

  private deliver(res: proto.Decoded<Res>): void {
    const id = idKey(res.ID);
    const set = this.waiting.get(id);
    if (set === undefined) return;
    this.waiting.delete(id);
    const out: Res = { header: res.header, ID: res.ID, TTL: res.TTL };
    for (const c of set) {
      c.pending.delete(id);
      // Each write answers one request of this stream, so writes per stream stay bounded.
      c.call.write(out);
      if (c.halfClosed && c.pending.size === 0) c.call.end();
    }
  }

  private forget(client: ClientStream): void {
    for (const id of client.pending) {
      const set = this.waiting.get(id);
      if (set === undefined) continue;
      set.delete(client);
      // The upstream answer still arrives; an empty entry is dropped then (or here if idle).
      if (set.size === 0 && this.stream === undefined) this.waiting.delete(id);
    }
    client.pending.clear();
  }
}

/**
 * A lease ID as a map key. etcd's lease IDs use all 63 bits (beyond a JS number's exact range),
 * so they stay decimal strings here and go upstream as such.
 */
function idKey(v: proto.Int64 | null | undefined): string {
  if (v === null || v === undefined) return '0';
  return Long.isLong(v) ? v.toString() : String(v);
}
