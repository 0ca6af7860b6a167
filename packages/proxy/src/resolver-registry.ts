/**
 * Proxy discovery, as etcd's grpc-proxy `--resolver-prefix` does it: each proxy keeps
 * `<prefix>/<advertised URL>` alive under a lease on the members, and Cluster.MemberList on a
 * proxy lists those keys (one member per live proxy, its client URL the advertised one), so
 * clients that sync endpoints from MemberList stay on the proxies.
 *
 * The value is etcd's naming update JSON (`{"Op":0,"Addr":...,"Metadata":...}`) so etcd's own
 * tools read the registrations too.
 */
import * as grpc from '@grpc/grpc-js';
import { prefixEnd, proto } from '@kvfleet/core';
import { hostname } from 'node:os';
import type { Upstream } from './upstream/upstream.js';

const RETRY_MS = 1_000;

export class ResolverRegistration {
  private lease = '0';
  private stream: grpc.ClientDuplexStream<unknown, proto.Decoded<proto.LeaseKeepAliveResponse>> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly upstream: Upstream,
    private readonly prefix: string,
    private readonly addresses: readonly string[],
    private readonly ttlSec: number,
    private readonly log?: (message: string) => void,
  ) {}

  /** Registers (retrying in the background until it works) and keeps the lease alive. */
  start(): void {
    void this.register();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.stream?.cancel();
    // Best effort: revoking removes the keys now instead of after the TTL.
    if (this.lease !== '0') {
      await this.upstream.unary('Lease', 'LeaseRevoke', { ID: this.lease }, { idempotent: true }).catch(() => undefined);
    }
  }

  private async register(): Promise<void> {
    if (this.closed) return;
    try {
      const grant = await this.upstream.unary<proto.Decoded<proto.LeaseGrantResponse>>('Lease', 'LeaseGrant', { TTL: this.ttlSec }, { idempotent: false });
      if (grant.error) throw new Error(grant.error);
      // etcd's lease IDs use all 63 bits: keep the decimal text, never a JS number.
      this.lease = String(grant.ID);
      for (const addr of this.addresses) {
        const value = JSON.stringify({ Op: 0, Addr: addr, Metadata: JSON.stringify({ Name: hostname() }) });
        await this.upstream.unary('KV', 'Put', { key: Buffer.from(`${this.prefix}/${addr}`), value: Buffer.from(value), lease: this.lease }, { idempotent: true });
      }
      this.log?.(`registered ${this.addresses.join(', ')} under ${this.prefix} (lease ${this.lease})`);
      this.keepAlive();
    } catch (e) {
      this.retry(`registration under ${this.prefix} failed: ${(e as Error).message}`);
    }
  }

  private keepAlive(): void {
    const s = this.upstream.client('Lease').LeaseKeepAlive() as unknown as grpc.ClientDuplexStream<unknown, proto.Decoded<proto.LeaseKeepAliveResponse>>;
    this.stream = s;
    const ping = () => {
      if (this.stream !== s) return;
      s.write({ ID: this.lease });
      this.timer = setTimeout(ping, Math.max(500, (this.ttlSec * 1000) / 3));
      this.timer.unref();
    };
    s.on('data', (res: proto.Decoded<proto.LeaseKeepAliveResponse>) => {
      // TTL <= 0: the lease expired (e.g. the members were away longer than the TTL).
      if (proto.int64ToNumber(res.TTL, 'TTL') <= 0) this.retry('registration lease expired');
    });
    s.on('error', (e: Error) => this.retry(`registration keep-alive: ${e.message}`));
    s.on('end', () => this.retry('registration keep-alive stream ended'));
    ping();
  }

  private retry(why: string): void {
    const s = this.stream;
    this.stream = undefined;
    s?.cancel();
    clearTimeout(this.timer);
    if (this.closed) return;
    this.log?.(`${why}; registering again`);
    this.timer = setTimeout(() => void this.register(), RETRY_MS);
    this.timer.unref();
  }
}

/** The MemberList answer from the registrations under `prefix`. */
export async function registeredMembers(upstream: Upstream, prefix: string): Promise<proto.MemberListResponse> {
  // A plain Uint8Array: prefixEnd slices, and Buffer#slice would share (and bump) our bytes.
  const key = new Uint8Array(Buffer.from(`${prefix}/`));
  const res = await upstream.unary<proto.Decoded<proto.RangeResponse>>('KV', 'Range', { key, rangeEnd: prefixEnd(key) }, { idempotent: true });
  const members: proto.Member[] = [];
  for (const kv of res.kvs) {
    let addr = Buffer.from(kv.key).subarray(key.length).toString();
    let name = '';
    try {
      const update = JSON.parse(Buffer.from(kv.value).toString()) as { Addr?: string; Metadata?: unknown };
      if (typeof update.Addr === 'string') addr = update.Addr;
      if (typeof update.Metadata === 'string') name = (JSON.parse(update.Metadata) as { Name?: string }).Name ?? '';
    } catch {
      // Not etcd's JSON: the key alone names the proxy.
    }
    members.push({ ID: memberId(addr), name, clientURLs: [addr] });
  }
  return { header: res.header as proto.ResponseHeader, members };
}

/** A stable 63-bit id from the address (FNV-1a 64), as member ids must be unique and nonzero. */
function memberId(addr: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(addr)) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  h &= 0x7fffffffffffffffn;
  return (h === 0n ? 1n : h).toString();
}
