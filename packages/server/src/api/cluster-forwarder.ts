/**
 * Membership changes made on a follower go to the leader, which alone can check them against
 * the member list it is about to change and against its followers' progress (etcd forwards
 * MemberPromote the same way). Sent to the leader's peer URL, where members serve the Cluster
 * service to each other, marked as forwarded so the leader never forwards again.
 */
import * as grpc from '@grpc/grpc-js';
import { EtcdError, ETCD_ERRORS, proto } from '@kvfleet/core';
import type { MemberEnv } from '../env/member-env.js';
import { FORWARDED_METADATA_KEY } from './leader-forwarder.js';

type ClusterClient = proto.ServiceClient<'Cluster'>;

export class ClusterForwarder {
  private link: { url: string; client: ClusterClient } | undefined;

  constructor(
    private readonly timeoutMs: number,
    /** Deadlines on its clock; clients of the leader through its dialer. */
    private readonly env: Pick<MemberEnv, 'clock' | 'dial'>,
  ) {}

  /** Calls `method` on the leader at `peerUrl`; etcd's errors come back as EtcdError. */
  async call<K extends 'MemberAdd' | 'MemberRemove' | 'MemberUpdate' | 'MemberPromote'>(
    peerUrl: string,
    method: K,
    request: Parameters<ClusterClient[K]>[0],
  ): Promise<unknown> {
    const client = this.clientFor(peerUrl);
    const md = new grpc.Metadata();
    md.set(FORWARDED_METADATA_KEY, '1');
    const fn = (client[method] as (...args: unknown[]) => unknown).bind(client) as proto.UnaryClientMethod<unknown, unknown>;
    try {
      return await proto.unaryCall(fn, request as proto.Init<unknown>, md, { deadline: this.env.clock.now() + this.timeoutMs });
    } catch (e) {
      const details = (e as grpc.ServiceError).details;
      const known = typeof details === 'string' ? EtcdError.fromMessage(details) : undefined;
      throw known ?? new EtcdError(ETCD_ERRORS.ErrGRPCTimeout);
    }
  }

  close(): void {
    this.link?.client.close();
    this.link = undefined;
  }

  private clientFor(url: string): ClusterClient {
    if (this.link?.url === url) return this.link.client;
    this.close();
    const client = this.env.dial('Cluster', url);
    this.link = { url, client };
    return client;
  }
}

/** Whether a call arrived forwarded from another member. */
export function isForwarded(call: { metadata: grpc.Metadata }): boolean {
  return call.metadata.get(FORWARDED_METADATA_KEY).length > 0;
}
