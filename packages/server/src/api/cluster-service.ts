/**
 * etcd's Cluster service: the member list and membership changes. Changes are admitted by the
 * leader (a follower forwards them over the leader's peer URL), go through Raft, and answer
 * once applied here, with the new member list. Members also serve this service to each other
 * on the peer port: forwarded changes, and the list a joining member asks for.
 */
import type * as grpc from '@grpc/grpc-js';
import { EtcdError, ETCD_ERRORS, proto } from '@kvfleet/core';
import type { EnvHost, HeaderSource, LeaderRouter, MembershipHost, Proposer, RaftStatusGetter } from '../etcdserver/roles.js';
import type { MemberInfo } from '../member/cluster-config.js';
import { parseUrlList } from '../member/cluster-config.js';
import { ClusterForwarder, isForwarded } from './cluster-forwarder.js';
import { unary } from './grpc-errors.js';

/** What the Cluster service uses of the member. */
export type ClusterMember = EnvHost & HeaderSource & RaftStatusGetter & Proposer & LeaderRouter & MembershipHost;

export function clusterService(server: ClusterMember): Partial<proto.ServiceHandlers<'Cluster'>> {
  const forwarder = new ClusterForwarder(server.requestTimeoutMs, server.env);
  const members = (list: readonly MemberInfo[]) => list.map(memberToWire);

  /** Runs `local` on the leader; elsewhere forwards the call (once) to the leader. */
  const onLeader = async <T>(
    call: { metadata: grpc.Metadata },
    local: () => Promise<T>,
    forward: (leaderPeerUrl: string) => Promise<unknown>,
  ): Promise<T | unknown> => {
    await server.waitForLeader();
    if (server.isLeader) return local();
    if (isForwarded(call)) throw new EtcdError(ETCD_ERRORS.ErrGRPCNotLeader);
    const url = server.leaderPeerUrls()?.[0];
    if (url === undefined) throw new EtcdError(ETCD_ERRORS.ErrGRPCNoLeader);
    return forward(url);
  };

  return {
    MemberList: unary(async (wire) => {
      if (wire.linearizable === true) await server.linearizableBarrier();
      return { header: server.header(), members: members(server.memberList()) };
    }),

    MemberAdd: unary(async (wire, call) => {
      const peerURLs = peerUrlsOf(wire.peerURLs);
      const isLearner = wire.isLearner === true;
      const res = await onLeader(
        call,
        async () => {
          const added = await server.membership.addMember(peerURLs, isLearner);
          return { member: memberToWire(added.member), members: members(added.members) };
        },
        (url) => forwarder.call(url, 'MemberAdd', { peerURLs, isLearner }),
      );
      const body = res as { member: proto.Member; members: proto.Member[] };
      return { header: server.header(), member: body.member, members: body.members };
    }),

    MemberRemove: unary(async (wire, call) => {
      const id = proto.int64ToNumber(wire.ID, 'ID');
      const res = await onLeader(
        call,
        async () => ({ members: members(await server.membership.removeMember(id)) }),
        (url) => forwarder.call(url, 'MemberRemove', { ID: id }),
      );
      return { header: server.header(), members: (res as { members: proto.Member[] }).members };
    }),

    MemberUpdate: unary(async (wire, call) => {
      const id = proto.int64ToNumber(wire.ID, 'ID');
      const peerURLs = peerUrlsOf(wire.peerURLs);
      const res = await onLeader(
        call,
        async () => ({ members: members(await server.membership.updateMember(id, peerURLs)) }),
        (url) => forwarder.call(url, 'MemberUpdate', { ID: id, peerURLs }),
      );
      return { header: server.header(), members: (res as { members: proto.Member[] }).members };
    }),

    MemberPromote: unary(async (wire, call) => {
      const id = proto.int64ToNumber(wire.ID, 'ID');
      const res = await onLeader(
        call,
        async () => ({ members: members(await server.membership.promoteMember(id)) }),
        (url) => forwarder.call(url, 'MemberPromote', { ID: id }),
      );
      return { header: server.header(), members: (res as { members: proto.Member[] }).members };
    }),
  };
}

function memberToWire(m: MemberInfo): proto.Member {
  return { ID: m.id, name: m.name, peerURLs: [...m.peerUrls], clientURLs: [...m.clientUrls], isLearner: m.isLearner };
}

/** etcd refuses URLs that are not scheme://host:port without a path: ErrGRPCMemberBadURLs. */
function peerUrlsOf(raw: readonly string[] | null | undefined): string[] {
  try {
    return parseUrlList((raw ?? []).join(','), 'peerURLs');
  } catch {
    throw new EtcdError(ETCD_ERRORS.ErrGRPCMemberBadURLs);
  }
}
