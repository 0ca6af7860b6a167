/** etcd's Cluster service: the member list (membership changes arrive with the membership issue). */
import type { proto } from '@kvfleet/core';
import type { EtcdServer } from '../etcdserver/etcd-server.js';
import { unary } from './grpc-errors.js';

export function clusterService(server: EtcdServer): Partial<proto.ServiceHandlers<'Cluster'>> {
  return {
    MemberList: unary(async (wire) => {
      if (wire.linearizable === true) await server.linearizableBarrier();
      return {
        header: server.header(),
        members: server.memberList().map((m) => ({
          ID: m.id,
          name: m.name,
          peerURLs: [...m.peerUrls],
          clientURLs: [...m.clientUrls],
          isLearner: m.isLearner,
        })),
      };
    }),
  };
}
