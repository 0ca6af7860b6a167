// One port for gRPC and HTTP/1.1, and client URL parsing: shared by members and proxies.
export * from './connection-mux.js';
export * from './listen-address.js';
export * from './grpc-server.js';
