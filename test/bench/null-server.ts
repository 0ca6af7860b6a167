/**
 * The null server: etcd's KV and Watch services answering every call at once with an empty
 * success, nothing stored. A benchmark against it measures the load generator's own ceiling on
 * this machine (the same client against kvfleet or etcd can never go faster).
 * Run: `node test/dist/bench/null-server.js PORT` (prints `listening PORT` when ready).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { proto } from '@kvfleet/core';

const HEADER = { clusterId: 1, memberId: 1, revision: 1, raftTerm: 1 };

export async function startNullServer(port: number): Promise<{ port: number; close(): void }> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': -1 });
  const ok = <T>(body: T) => (_call: unknown, callback: grpc.sendUnaryData<T>) => callback(null, body);
  server.addService(proto.serviceDefinition('KV'), {
    Range: ok({ header: HEADER, kvs: [], count: 0 }),
    Put: ok({ header: HEADER }),
    DeleteRange: ok({ header: HEADER, deleted: 0 }),
    Txn: ok({ header: HEADER, succeeded: true, responses: [] }),
    Compact: ok({ header: HEADER }),
  } as grpc.UntypedServiceImplementation);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${String(port)}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { port: bound, close: () => server.forceShutdown() };
}

// Run as a program (the benchmark harness starts it as its own process, so its CPU is its own).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = await startNullServer(Number(process.argv[2] ?? 0));
  process.stdout.write(`listening ${String(s.port)}\n`);
}
