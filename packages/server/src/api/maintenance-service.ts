/** etcd's Maintenance service: member status and hashes (alarms, snapshots, defrag arrive with the maintenance issue). */
import { proto } from '@kvfleet/core';
import type { EtcdServer } from '../etcdserver/etcd-server.js';
import { unary } from './grpc-errors.js';

/** The etcd API version kvfleet speaks; clients use it to decide which features to use. */
export const API_VERSION = '3.5.0';

export function maintenanceService(server: EtcdServer): Partial<proto.ServiceHandlers<'Maintenance'>> {
  return {
    Status: unary(async () => {
      const sizes = server.backendSizes;
      return {
        header: server.header(),
        version: API_VERSION,
        dbSize: sizes.size,
        leader: server.leaderId,
        raftIndex: server.raftIndex,
        raftTerm: server.raftTerm,
        raftAppliedIndex: server.appliedIndex,
        errors: [],
        dbSizeInUse: sizes.inUse,
        isLearner: false,
      };
    }),

    HashKV: unary(async (wire) => {
      const h = server.kv.hashKV(proto.int64ToNumber(wire.revision, 'revision'));
      return { header: server.header(h.revision), hash: h.hash, compactRevision: h.compactRevision };
    }),

    Alarm: unary(async () => ({ header: server.header(), alarms: [] })),
  };
}
