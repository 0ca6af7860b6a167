/**
 * etcd's Lease service. Grant and revoke go through Raft; keep-alive and time-to-live need the
 * leader's clock, so a follower forwards them to the leader ({@link LeaderForwarder}).
 */
import type * as grpc from '@grpc/grpc-js';
import { EtcdError, ETCD_ERRORS, isEtcdError, proto } from '@kvfleet/core';
import { normalizeLeaseGrant, normalizeLeaseRevoke } from '../apply/normalize.js';
import type { AppliedStateReader, EnvHost, HeaderSource, LeaderRouter, LeaseRenewer, Proposer, RaftStatusGetter } from '../etcdserver/roles.js';
import { isLeaseError } from '../lease/errors.js';
import { MAX_LEASE_TTL } from '../lease/limits.js';
import { type QuotaHost, checkQuota } from '../maintenance/quota-alarmer.js';
import { newLeaseId } from '../lease/lease-id.js';
import { FORWARDED_METADATA_KEY, LeaderForwarder } from './leader-forwarder.js';
import { toServiceError, unary } from './grpc-errors.js';

/** What the Lease service uses of the member. */
export type LeaseMember = EnvHost & HeaderSource & RaftStatusGetter & Proposer & QuotaHost & LeaderRouter & LeaseRenewer & Pick<AppliedStateReader, 'lessor'>;

export function leaseService(server: LeaseMember, forwarder: LeaderForwarder): proto.ServiceHandlers<'Lease'> {
  const renew = (id: number, forwarded: boolean): Promise<number> => {
    if (server.isLeader) return Promise.resolve(renewOnLeader(server, id));
    if (forwarded) return Promise.reject(new EtcdError(ETCD_ERRORS.ErrGRPCNotLeader));
    return server.waitForLeader().then(() => {
      const url = server.leaderPeerUrls()?.[0];
      if (url === undefined) throw new EtcdError(ETCD_ERRORS.ErrGRPCNoLeader);
      if (server.isLeader) return renewOnLeader(server, id);
      return forwarder.renew(url, id);
    });
  };

  return {
    LeaseGrant: unary(async (wire) => {
      const req = normalizeLeaseGrant(wire);
      await checkQuota(server, { leaseGrant: req });
      if (req.TTL > MAX_LEASE_TTL) throw new EtcdError(ETCD_ERRORS.ErrGRPCLeaseTTLTooLarge);
      // As etcd: the server picks the id before proposing, so every member applies the same one.
      const id = req.ID !== 0 ? req.ID : newLeaseId(server.env.random, (x) => server.lessor.lookup(x) !== undefined);
      const out = await server.propose({ leaseGrant: { ID: id, TTL: req.TTL } });
      const body = out.body;
      return { header: server.header(out.revision), ID: body.ID, TTL: body.TTL, error: '' };
    }),

    LeaseRevoke: unary(async (wire) => {
      const out = await server.propose({ leaseRevoke: normalizeLeaseRevoke(wire) });
      return { header: server.header(out.revision) };
    }),

    LeaseKeepAlive: (call) => {
      const forwarded = isForwarded(call.metadata);
      // Answers in request order: the forwarder matches them first-in, first-out.
      let chain: Promise<void> = Promise.resolve();
      call.on('data', (req: proto.LeaseKeepAliveRequest) => {
        chain = chain.then(async () => {
          let id: number;
          try {
            id = proto.int64ToNumber(req.ID, 'ID');
          } catch (e) {
            call.emit('error', Object.assign(new Error(String(e)), toServiceError(e)));
            return;
          }
          try {
            const ttl = await renew(id, forwarded);
            call.write({ header: server.header(), ID: id, TTL: ttl });
          } catch (e) {
            call.emit('error', Object.assign(new Error(e instanceof Error ? e.message : String(e)), toServiceError(e)));
          }
        });
      });
      call.on('end', () => {
        void chain.then(() => call.end());
      });
      call.on('error', () => undefined);
    },

    LeaseTimeToLive: unary(async (wire, call) => {
      const id = proto.int64ToNumber(wire.ID, 'ID');
      const keys = wire.keys === true;
      if (!server.isLeader) {
        if (isForwarded(call.metadata)) throw new EtcdError(ETCD_ERRORS.ErrGRPCNotLeader);
        await server.waitForLeader();
        const url = server.leaderPeerUrls()?.[0];
        if (url === undefined) throw new EtcdError(ETCD_ERRORS.ErrGRPCNoLeader);
        if (!server.isLeader) {
          const res = await forwarder.timeToLive(url, id, keys);
          return { header: server.header(), ID: id, TTL: res.TTL, grantedTTL: res.grantedTTL, keys: res.keys };
        }
      }
      const t = server.lessor.timeToLive(id, { keys });
      // etcd answers an unknown lease with TTL -1 rather than an error.
      return { header: server.header(), ID: id, TTL: t.ttl, grantedTTL: t.grantedTtl, keys: t.keys };
    }),

    LeaseLeases: unary(async () => {
      await server.linearizableBarrier();
      return { header: server.header(), leases: server.lessor.leases().map((ID) => ({ ID })) };
    }),
  };
}

/** TTL for a keep-alive on the leader: 0 for a lease that does not exist or has expired, as etcd answers. */
function renewOnLeader(server: LeaseMember, id: number): number {
  try {
    return server.renewLease(id);
  } catch (e) {
    if (isEtcdError(e, ETCD_ERRORS.ErrGRPCLeaseNotFound) || isLeaseError(e, 'ErrLeaseExpired')) return 0;
    throw e;
  }
}

function isForwarded(md: grpc.Metadata): boolean {
  return md.get(FORWARDED_METADATA_KEY).length > 0;
}
