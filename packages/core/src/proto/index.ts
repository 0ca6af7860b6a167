// The etcd v3 wire protocol: schema loading, message shapes, gRPC service
// definitions and clients. Re-exported from the package root as `proto`.
export * from './loader.js';
export * from './int64.js';
export * from './message-shapes.js';
export * from './kv.js';
export * from './watch.js';
export * from './lease.js';
export * from './cluster.js';
export * from './maintenance.js';
export * from './auth.js';
export * from './election.js';
export * from './lock.js';
export * from './internal.js';
export * from './service-definitions.js';
export * from './clients.js';
