/**
 * The gRPC services a member serves, as handler tables: one list for the client URLs (each
 * behind etcd's learner rule) and one for the peer port (forwarded lease renewals and membership
 * changes). The real gRPC servers (embed/) and the simulator's members serve the same handlers.
 */
import type * as grpc from '@grpc/grpc-js';
import { proto } from '@kvfleet/core';
import { clusterService, type ClusterMember } from './cluster-service.js';
import { electionService, type ElectionMember } from './election-service.js';
import { kvService, type KvMember } from './kv-service.js';
import { LeaderForwarder } from './leader-forwarder.js';
import { leaseService, type LeaseMember } from './lease-service.js';
import { learnerGate } from './learner-gate.js';
import { lockService, type LockMember } from './lock-service.js';
import { maintenanceService, type MaintenanceMember } from './maintenance-service.js';
import { statusResponse, type StatusMember } from '../etcdserver/status-response.js';
import { watchService, type WatchMember } from './watch-service.js';
import { unary } from './grpc-errors.js';

export interface ServiceBinding {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

/** What the client services use of the member. */
export type ClientServicesMember = KvMember & WatchMember & LeaseMember & ClusterMember & MaintenanceMember & LockMember & ElectionMember;

export interface ClientServices {
  readonly services: readonly ServiceBinding[];
  /** Ends every open stream (etcd's "server stopped") and the link to the leader. */
  close(): void;
}

/** etcd's KV, Watch, Lease, Cluster, Maintenance, Lock and Election services of `member`. */
export function clientServices(member: ClientServicesMember): ClientServices {
  const forwarder = new LeaderForwarder(member.requestTimeoutMs, member.env);
  /** Closers of live streams (watch, lock, election), run on close. */
  const openStreams = new Set<() => void>();
  const gated = (name: proto.ServiceName, implementation: object): ServiceBinding => {
    const definition = proto.serviceDefinition(name) as grpc.ServiceDefinition;
    return { definition, implementation: learnerGate(definition, implementation, () => member.isLearner) as grpc.UntypedServiceImplementation };
  };
  return {
    services: [
      gated('KV', kvService(member)),
      gated('Watch', watchService(member, openStreams)),
      gated('Lease', leaseService(member, forwarder)),
      gated('Cluster', clusterService(member)),
      gated('Maintenance', maintenanceService(member)),
      gated('Lock', lockService(member, openStreams)),
      gated('Election', electionService(member, openStreams)),
    ],
    close() {
      forwarder.close();
      for (const stop of [...openStreams]) stop();
    },
  };
}

/**
 * The services members call on each other's peer port: lease renewals forwarded to the leader,
 * membership changes and the member list, and Maintenance.Status alone (the status page shows
 * every member's; the rest of Maintenance is for clients).
 */
export function peerServices(member: LeaseMember & ClusterMember & StatusMember): readonly ServiceBinding[] {
  const maintenance = proto.serviceDefinition('Maintenance') as grpc.ServiceDefinition;
  return [
    { definition: { Status: maintenance.Status! }, implementation: { Status: unary(async () => statusResponse(member)) } as grpc.UntypedServiceImplementation },
    { definition: proto.serviceDefinition('Lease') as grpc.ServiceDefinition, implementation: leaseService(member, new LeaderForwarder(member.requestTimeoutMs, member.env)) as grpc.UntypedServiceImplementation },
    { definition: proto.serviceDefinition('Cluster') as grpc.ServiceDefinition, implementation: clusterService(member) as grpc.UntypedServiceImplementation },
  ];
}
