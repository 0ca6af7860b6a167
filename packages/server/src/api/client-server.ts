/**
 * The gRPC server on a member's client URLs: etcd's KV, Watch, Lease, Cluster and Maintenance
 * services, with etcd's message size limits.
 */
import * as grpc from '@grpc/grpc-js';
import { proto } from '@kvfleet/core';
import type { EtcdServer } from '../etcdserver/etcd-server.js';
import { clusterService } from './cluster-service.js';
import { kvService } from './kv-service.js';
import { LeaderForwarder } from './leader-forwarder.js';
import { leaseService } from './lease-service.js';
import { maintenanceService } from './maintenance-service.js';
import { watchService } from './watch-service.js';

/** etcd lets a gRPC message exceed the request limit by this much (headers, framing), then the request check decides. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

export class ClientServer {
  private readonly grpcServer: grpc.Server;
  private readonly forwarder: LeaderForwarder;
  /** Closers of live watch streams, run on shutdown. */
  private readonly openStreams = new Set<() => void>();
  readonly ports: number[] = [];

  constructor(member: EtcdServer) {
    this.forwarder = new LeaderForwarder(member.requestTimeoutMs);
    this.grpcServer = new grpc.Server({
      'grpc.max_receive_message_length': member.config.maxRequestBytes + GRPC_OVERHEAD_BYTES,
      'grpc.max_send_message_length': -1,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5000,
    });
    const lease = leaseService(member, this.forwarder);
    this.grpcServer.addService(proto.serviceDefinition('KV'), kvService(member));
    this.grpcServer.addService(proto.serviceDefinition('Watch'), watchService(member, this.openStreams));
    this.grpcServer.addService(proto.serviceDefinition('Lease'), lease);
    this.grpcServer.addService(proto.serviceDefinition('Cluster'), clusterService(member) as grpc.UntypedServiceImplementation);
    this.grpcServer.addService(proto.serviceDefinition('Maintenance'), maintenanceService(member) as grpc.UntypedServiceImplementation);
  }

  /** The Lease service as members serve it to each other on the peer port (forwarded calls). */
  static peerLeaseService(member: EtcdServer): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
    return {
      definition: proto.serviceDefinition('Lease'),
      implementation: leaseService(member, new LeaderForwarder(member.requestTimeoutMs)),
    };
  }

  async listen(urls: readonly string[]): Promise<void> {
    for (const url of urls) {
      const u = new URL(url);
      const port = await new Promise<number>((resolve, reject) => {
        this.grpcServer.bindAsync(u.host, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
      });
      this.ports.push(port);
    }
  }

  async close(): Promise<void> {
    this.forwarder.close();
    for (const stop of [...this.openStreams]) stop();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.grpcServer.forceShutdown();
        resolve();
      }, 2000);
      this.grpcServer.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}
