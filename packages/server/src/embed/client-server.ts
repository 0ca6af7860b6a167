/**
 * The gRPC server on a member's client URLs: etcd's KV, Watch, Lease, Cluster and Maintenance
 * services, with etcd's message size limits. As in etcd, each client URL also serves HTTP/1.1
 * on the same port (core's net/connection-mux.ts): /health, /version, /metrics and plugins such as
 * the JSON gateway (http/http-app.ts); `--listen-metrics-urls` get their own HTTP listeners.
 */
import * as grpc from '@grpc/grpc-js';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { EtcdServer } from '../etcdserver/etcd-server.js';
import { ConnectionMux, dialAddress, listenAddress, shutdownGrpcServer } from '@kvfleet/core';
import { createHttpApp, type HttpPlugin } from '../http/http-app.js';
import { MetricsListener } from '../http/metrics-listener.js';
import { clientServices, type ClientServices } from '../api/member-services.js';

/** etcd lets a gRPC message exceed the request limit by this much (headers, framing), then the request check decides. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** HTTP connections accepted while the HTTP app is still being built; more are closed. */
const MAX_EARLY_HTTP_CONNECTIONS = 256;

export interface ClientServerOptions {
  /** Routes added to the client URLs' HTTP app (http/http-app.ts), e.g. the JSON gateway. */
  readonly httpPlugins?: readonly HttpPlugin[];
}

export class ClientServer {
  private readonly grpcServer: grpc.Server;
  private readonly handlers: ClientServices;
  readonly ports: number[] = [];
  /** Ports bound for `--listen-metrics-urls`, in order. */
  readonly metricsPorts: number[] = [];
  private readonly muxes: ConnectionMux[] = [];
  private injector: grpc.ConnectionInjector | undefined;
  private http: FastifyInstance | undefined;
  private earlyHttp: Socket[] = [];
  private metricsListener: MetricsListener | undefined;
  private grpcDial: string | undefined;

  constructor(
    private readonly member: EtcdServer,
    private readonly options: ClientServerOptions = {},
  ) {
    this.grpcServer = new grpc.Server({
      'grpc.max_receive_message_length': member.config.maxRequestBytes + GRPC_OVERHEAD_BYTES,
      'grpc.max_send_message_length': -1,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5000,
    });
    this.handlers = clientServices(member);
    for (const { definition, implementation } of this.handlers.services) this.grpcServer.addService(definition, implementation);
  }

  /** The HTTP app on the client URLs, once listening. */
  get httpApp(): FastifyInstance | undefined {
    return this.http;
  }

  /**
   * Listens on every client URL, gRPC and HTTP/1.1 on each port, then on the member's
   * `--listen-metrics-urls`. Ports are bound before the HTTP app is built, so plugins know the
   * gRPC address; HTTP connections arriving meanwhile wait for it.
   */
  async listen(urls: readonly string[]): Promise<void> {
    const injector = this.grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.injector = injector;
    for (const url of urls) {
      const { host, port } = listenAddress(url);
      const mux = new ConnectionMux({ onGrpc: (s) => injector.injectConnection(s), onHttp: (s) => this.takeHttp(s) });
      this.muxes.push(mux);
      const bound = await mux.listen(host, port);
      this.ports.push(bound);
      this.grpcDial ??= dialAddress(host, bound);
    }
    this.http = await createHttpApp(this.member, { plugins: this.options.httpPlugins, grpcAddress: () => this.grpcDial });
    for (const s of this.earlyHttp) this.http.server.emit('connection', s);
    this.earlyHttp = [];
    const metricsUrls = this.member.config.listenMetricsUrls ?? [];
    if (metricsUrls.length > 0) {
      this.metricsListener = await MetricsListener.start(this.member, metricsUrls);
      this.metricsPorts.push(...this.metricsListener.ports);
    }
  }

  private takeHttp(socket: Socket): void {
    if (this.http !== undefined) {
      this.http.server.emit('connection', socket);
    } else if (this.earlyHttp.length < MAX_EARLY_HTTP_CONNECTIONS) {
      this.earlyHttp.push(socket);
    } else {
      socket.destroy();
    }
  }

  async close(): Promise<void> {
    this.handlers.close();
    // Stop accepting first; the listeners finish closing once gRPC and HTTP let go of their connections.
    const muxesClosed = Promise.all(this.muxes.map((m) => m.close()));
    for (const s of this.earlyHttp) s.destroy();
    this.earlyHttp = [];
    const httpClosed = Promise.all([this.http?.close(), this.metricsListener?.close()]);
    await shutdownGrpcServer(this.grpcServer);
    this.injector?.destroy();
    await httpClosed;
    await muxesClosed;
  }
}
