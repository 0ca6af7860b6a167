/** A member with its client listener: what `kvfleet server` runs. */
import { registerGateway } from '@kvfleet/core';
import { ClientServer } from './client-server.js';
import { peerServices } from '../api/member-services.js';
import { API_MAJOR_MINOR, API_VERSION } from '../version.js';
import { MemberMetrics } from '../metrics/member-metrics.js';
import { EtcdServer } from '../etcdserver/etcd-server.js';
import type { MemberConfig } from '../etcdserver/member-config.js';
import type { MemberEnv } from '../env/member-env.js';
import { REAL_ENV } from '../env/real-env.js';

export interface RunningMember {
  readonly server: EtcdServer;
  /** Ports bound for the client URLs, in order (useful with port 0). */
  readonly clientPorts: readonly number[];
  /** Ports bound for `--listen-metrics-urls`, in order. */
  readonly metricsPorts: readonly number[];
  stop(): Promise<void>;
}

export async function startMember(config: MemberConfig, env: MemberEnv = REAL_ENV): Promise<RunningMember> {
  const server = await EtcdServer.start(config, {
    peerServices: (transport, member) => {
      // Forwarded lease renewals and membership changes, and the member list a joining member asks for.
      for (const { definition, implementation } of peerServices(member)) transport.addService(definition, implementation);
    },
    metrics: new MemberMetrics({ server: API_VERSION, cluster: API_MAJOR_MINOR }, env.clock),
    env,
  });
  // etcd's JSON gateway (/v3/...) on the same ports, calling this member's gRPC services.
  const client = new ClientServer(server, {
    httpPlugins: [(app, ctx) => registerGateway(app, { grpcAddress: ctx.grpcAddress() })],
  });
  try {
    await client.listen(config.listenClientUrls);
  } catch (e) {
    await server.stop();
    throw e;
  }
  config.logger.info('serving client requests', { urls: config.listenClientUrls });
  return {
    server,
    clientPorts: client.ports,
    metricsPorts: client.metricsPorts,
    async stop() {
      await client.close();
      await server.stop();
    },
  };
}
