/**
 * The members the proxy talks to: one gRPC client per service and endpoint (grpc-js shares
 * the connection between clients of one address), the current endpoint, and failover.
 *
 * Leader: writes and linearizable checks go first to the leader's endpoint when it is known
 * (LeaderTracker sets it) and among ours, saving the member-to-leader hop; else to the current one.
 *
 * Retry rule: a call is retried on the next endpoint only when it cannot have taken effect:
 * an idempotent call (reads) on any UNAVAILABLE, a write only when it was never sent (grpc-js
 * had no connection for it).
 */
import * as grpc from '@grpc/grpc-js';
import { proto } from '@kvfleet/core';

export interface UpstreamOptions {
  /** Deadline of each forwarded unary call. Default 10 s (beyond a member's 7 s request timeout). */
  readonly callTimeoutMs?: number;
}

export class Upstream {
  readonly endpoints: readonly string[];
  private current = 0;
  private leaderEndpoint: string | undefined;
  private readonly clients = new Map<string, grpc.Client>();
  private readonly callTimeoutMs: number;
  private closed = false;

  constructor(endpoints: readonly string[], options: UpstreamOptions = {}) {
    if (endpoints.length === 0) throw new RangeError('the proxy needs at least one upstream endpoint');
    this.endpoints = endpoints.map(hostPort);
    this.callTimeoutMs = options.callTimeoutMs ?? 10_000;
  }

  /** The endpoint calls go to now. */
  get endpoint(): string {
    return this.endpoints[this.current]!;
  }

  /** The leader's endpoint, if known and one of ours. */
  get leader(): string | undefined {
    return this.leaderEndpoint;
  }

  /** Records the leader's endpoint (undefined: unknown, or not one of ours). */
  setLeader(endpoint: string | undefined): void {
    this.leaderEndpoint = endpoint !== undefined && this.endpoints.includes(endpoint) ? endpoint : undefined;
  }

  /** A client of `name` on the current endpoint. */
  client<S extends proto.ServiceName>(name: S): proto.ServiceClient<S> {
    return this.clientAt(name, this.endpoint);
  }

  /** Moves to the next endpoint (after a failure seen on `failed`, if it is still the current one). */
  rotate(failed = this.endpoint): void {
    if (failed === this.endpoint) this.current = (this.current + 1) % this.endpoints.length;
  }

  /** The current endpoint failed (seen by a caller outside `unary`): move on. */
  markFailed(): void {
    this.rotate();
  }

  /** A unary call with failover across endpoints (see the retry rule above). */
  async unary<Res>(
    service: proto.ServiceName,
    method: string,
    request: unknown,
    options: { readonly idempotent: boolean; readonly metadata?: grpc.Metadata; readonly timeoutMs?: number; readonly toLeader?: boolean },
  ): Promise<Res> {
    let lastError: unknown;
    let leader = options.toLeader === true ? this.leaderEndpoint : undefined;
    // The leader first (if known), then every endpoint in turn.
    const attempts = this.endpoints.length + (leader === undefined ? 0 : 1);
    for (let attempt = 0; attempt < attempts; attempt++) {
      const endpoint = leader ?? this.endpoint;
      try {
        return await this.callAt<Res>(endpoint, service, method, request, options.metadata, options.timeoutMs);
      } catch (e) {
        lastError = e;
        if (this.closed || !retryable(e, options.idempotent)) throw e;
        if (leader !== undefined) {
          // The leader we knew failed: forget it until the tracker finds the new one.
          if (this.leaderEndpoint === leader) this.leaderEndpoint = undefined;
          leader = undefined;
          if (endpoint !== this.endpoint) continue;
        }
        this.rotate(endpoint);
      }
    }
    throw lastError;
  }

  /** One unary call to `endpoint` (host:port, any member's), no failover: status of a given member. */
  unaryAt<Res>(endpoint: string, service: proto.ServiceName, method: string, request: unknown, timeoutMs?: number): Promise<Res> {
    return this.callAt<Res>(endpoint, service, method, request, undefined, timeoutMs);
  }

  private async callAt<Res>(endpoint: string, service: proto.ServiceName, method: string, request: unknown, metadata?: grpc.Metadata, timeoutMs?: number): Promise<Res> {
    const client = this.clientAt(service, endpoint) as unknown as Record<string, proto.UnaryClientMethod<unknown, Res>>;
    const call = client[method];
    if (call === undefined) throw new TypeError(`${service} has no method ${method}`);
    return (await proto.unaryCall(call.bind(client), request as never, metadata ?? new grpc.Metadata(), {
      deadline: Date.now() + (timeoutMs ?? this.callTimeoutMs),
    })) as Res;
  }

  close(): void {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private clientAt<S extends proto.ServiceName>(name: S, endpoint: string): proto.ServiceClient<S> {
    const key = `${name} ${endpoint}`;
    let c = this.clients.get(key);
    if (c === undefined) {
      c = proto.createClient(name, endpoint, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': -1,
        'grpc.max_send_message_length': -1,
      });
      this.clients.set(key, c);
    }
    return c as proto.ServiceClient<S>;
  }
}

function retryable(e: unknown, idempotent: boolean): boolean {
  const err = e as Partial<grpc.ServiceError>;
  // A read that timed out on a member that just died is safe to ask the next one.
  if (idempotent && err.code === grpc.status.DEADLINE_EXCEEDED) return true;
  if (err.code !== grpc.status.UNAVAILABLE) return false;
  if (idempotent) return true;
  // A write only when grpc-js never had a connection to send it on. A connection that dropped
  // mid-call (a member removed or killed) may have delivered it: sending it again could apply
  // it twice (the robustness harness caught exactly that), as etcd's client also refuses.
  return (err.details ?? '').startsWith('No connection established');
}

/** `http://host:port` or `host:port` → `host:port`. */
export function hostPort(endpoint: string): string {
  const trimmed = endpoint.trim();
  if (!trimmed.includes('://')) return trimmed;
  return new URL(trimmed).host;
}
