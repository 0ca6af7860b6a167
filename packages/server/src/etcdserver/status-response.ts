/** A member's Maintenance.Status answer, as etcd builds it: the RPC's, the peer port's and the status page's. */
import type { proto } from '@kvfleet/core';
import { API_VERSION } from '../version.js';
import type { HeaderSource, MaintenanceHost, RaftStatusGetter } from './roles.js';

/** What the answer reads of the member. */
export type StatusMember = HeaderSource & RaftStatusGetter & Pick<MaintenanceHost, 'alarms' | 'backendSizes'>;

export function statusResponse(server: StatusMember): proto.StatusResponse {
  const sizes = server.backendSizes;
  const leader = server.leaderId;
  const errors: string[] = [];
  // etcd reports a missing leader, then each alarm in protobuf text form.
  if (leader === 0) errors.push('etcdserver: no leader');
  errors.push(...server.alarms.statusErrors());
  return {
    header: server.header(),
    version: API_VERSION,
    dbSize: sizes.size,
    leader,
    raftIndex: server.raftIndex,
    raftTerm: server.raftTerm,
    raftAppliedIndex: server.appliedIndex,
    errors,
    dbSizeInUse: sizes.inUse,
    isLearner: server.isLearner,
  };
}
