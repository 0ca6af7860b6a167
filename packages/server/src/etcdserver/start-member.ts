/** A member with its client listener: what `kvfleet server` runs. */
import { ClientServer } from '../api/client-server.js';
import { EtcdServer } from './etcd-server.js';
import type { MemberConfig } from './member-config.js';

export interface RunningMember {
  readonly server: EtcdServer;
  /** Ports bound for the client URLs, in order (useful with port 0). */
  readonly clientPorts: readonly number[];
  stop(): Promise<void>;
}

export async function startMember(config: MemberConfig): Promise<RunningMember> {
  const server = await EtcdServer.start(config, (transport, member) => {
    const lease = ClientServer.peerLeaseService(member);
    transport.addService(lease.definition, lease.implementation);
  });
  const client = new ClientServer(server);
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
    async stop() {
      await client.close();
      await server.stop();
    },
  };
}
