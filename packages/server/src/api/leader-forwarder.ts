/**
 * Leader-only lease calls (keep-alive, time-to-live) made on a follower go to the leader, as
 * etcd forwards them: over the leader's peer URL, where members serve the Lease service to each
 * other. One keep-alive stream per leader carries every forwarded renewal; the leader answers
 * a stream's requests in order, so answers are matched to requests first-in, first-out.
 */
import * as grpc from '@grpc/grpc-js';
import { EtcdError, ETCD_ERRORS, proto } from '@kvfleet/core';
import type { MemberEnv } from '../env/member-env.js';

/** Metadata marking a forwarded call, so the receiver never forwards it again. */
export const FORWARDED_METADATA_KEY = 'kvfleet-forwarded';
/** Renewals waiting for the leader's answer on one stream before further ones are refused. */
const MAX_PENDING_RENEWALS = 10_000;

interface LeaderLink {
  readonly url: string;
  readonly client: proto.ServiceClient<'Lease'>;
  stream: grpc.ClientDuplexStream<proto.Init<proto.LeaseKeepAliveRequest>, proto.Decoded<proto.LeaseKeepAliveResponse>> | undefined;
  readonly waiting: { resolve(ttl: number): void; reject(e: unknown): void }[];
}

export class LeaderForwarder {
  private link: LeaderLink | undefined;

  constructor(
    private readonly timeoutMs: number,
    /** Deadlines on its clock; clients of the leader through its dialer. */
    private readonly env: Pick<MemberEnv, 'clock' | 'dial'>,
  ) {}

  /** Renews `id` on the leader at `peerUrl`; resolves with the TTL (0: no such lease). */
  renew(peerUrl: string, id: number): Promise<number> {
    const link = this.linkTo(peerUrl);
    if (link.waiting.length >= MAX_PENDING_RENEWALS) return Promise.reject(new EtcdError(ETCD_ERRORS.ErrGRPCRequestTooManyRequests));
    const stream = (link.stream ??= this.openStream(link));
    return new Promise((resolve, reject) => {
      link.waiting.push({ resolve, reject });
      stream.write({ ID: id });
    });
  }

  timeToLive(peerUrl: string, id: number, keys: boolean): Promise<proto.Decoded<proto.LeaseTimeToLiveResponse>> {
    const link = this.linkTo(peerUrl);
    return proto.unaryCall(link.client.LeaseTimeToLive.bind(link.client), { ID: id, keys }, forwardedMetadata(), {
      deadline: this.env.clock.now() + this.timeoutMs,
    });
  }

  close(): void {
    if (this.link !== undefined) this.dropLink(this.link, new EtcdError(ETCD_ERRORS.ErrGRPCStopped));
  }

  private linkTo(url: string): LeaderLink {
    if (this.link?.url === url) return this.link;
    if (this.link !== undefined) this.dropLink(this.link, new EtcdError(ETCD_ERRORS.ErrGRPCLeaderChanged));
    const client = this.env.dial('Lease', url);
    this.link = { url, client, stream: undefined, waiting: [] };
    return this.link;
  }

  private openStream(link: LeaderLink): NonNullable<LeaderLink['stream']> {
    const stream = link.client.LeaseKeepAlive(forwardedMetadata());
    stream.on('data', (res: proto.Decoded<proto.LeaseKeepAliveResponse>) => {
      link.waiting.shift()?.resolve(proto.int64ToNumber(res.TTL, 'TTL'));
    });
    const fail = (e: unknown): void => {
      if (link.stream === stream) link.stream = undefined;
      for (const w of link.waiting.splice(0)) w.reject(e instanceof Error && 'code' in e ? e : new EtcdError(ETCD_ERRORS.ErrGRPCLeaderChanged));
    };
    stream.on('error', fail);
    stream.on('end', () => fail(new EtcdError(ETCD_ERRORS.ErrGRPCLeaderChanged)));
    return stream;
  }

  private dropLink(link: LeaderLink, error: unknown): void {
    link.stream?.cancel();
    for (const w of link.waiting.splice(0)) w.reject(error);
    link.client.close();
    if (this.link === link) this.link = undefined;
  }
}

function forwardedMetadata(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(FORWARDED_METADATA_KEY, '1');
  return md;
}
