// A member's HTTP side: gRPC and HTTP/1.1 on one port, etcd's health, version and metrics endpoints.
export { ConnectionMux, HTTP2_PREFACE, classify, type ConnectionKind, type ConnectionMuxOptions } from '@kvfleet/core';
export { createHttpApp, type HttpAppContext, type HttpAppOptions, type HttpPlugin } from './http-app.js';
export { checkHealth, registerHealthRoutes, LIVEZ_CHECKS, READYZ_CHECKS, HEALTH_READ_TIMEOUT_MS } from './health.js';
export { MetricsListener } from './metrics-listener.js';
export { listenAddress, dialAddress, type ListenAddress } from '@kvfleet/core';
