// In-process fake members: grpc servers with whatever handlers a test scripts.
import * as grpc from '@grpc/grpc-js';
import { proto } from '@kvfleet/core';

export interface FakeMember {
  readonly endpoint: string;
  close(): void;
}

export async function fakeMember(services: { [S in proto.ServiceName]?: Partial<proto.ServiceHandlers<S>> }): Promise<FakeMember> {
  const server = new grpc.Server();
  for (const [name, impl] of Object.entries(services)) {
    server.addService(proto.serviceDefinition(name as proto.ServiceName) as grpc.ServiceDefinition, impl as grpc.UntypedServiceImplementation);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { endpoint: `127.0.0.1:${String(port)}`, close: () => server.forceShutdown() };
}
