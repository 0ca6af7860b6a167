/**
 * A running proxy: the watch cache and its feed from the members, the gRPC services (KV and
 * Watch from the cache, the rest forwarded), and HTTP (/livez, /readyz, /health, /metrics,
 * the status page at /status) on the same client ports, as a member serves them.
 */
import * as grpc from '@grpc/grpc-js';
import { ConnectionMux, dialAddress, listenAddress, proto, registerGateway, WatchCache } from '@kvfleet/core';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Socket } from 'node:net';
import { forwardService, rawDefinition } from './api/forward.js';
import { forwardWrite } from './api/kv-writes.js';
import { LeaseKeepAliveCoalescer } from './api/lease-keepalive.js';
import { unary } from './api/unary.js';
import { kvService } from './api/kv-service.js';
import { watchService } from './api/watch-service.js';
import { CachePipeline } from './cache-pipeline.js';
import type { ProxyContext } from './context.js';
import { ProxyMetrics } from './proxy-metrics.js';
import { registerProxyStatus } from './proxy-status.js';
import { registeredMembers, ResolverRegistration } from './resolver-registry.js';
import { SessionTable } from './session-table.js';
import { CacheFeed } from './upstream/cache-feed.js';
import { HistoryRelay } from './upstream/history-relay.js';
import { LeaderTracker } from './upstream/leader-tracker.js';
import { Upstream } from './upstream/upstream.js';

export interface ProxyServerOptions {
  /** The members (host:port or URLs). */
  readonly endpoints: readonly string[];
  readonly listenClientUrls: readonly string[];
  /** URLs clients reach this proxy at (discovery). Default: the listen URLs with their bound ports. */
  readonly advertiseClientUrls?: readonly string[];
  /** With a prefix, the proxy registers itself under it and answers MemberList from the registrations. */
  readonly resolverPrefix?: string;
  /** TTL of the registration lease. Default 60 s. */
  readonly resolverTtlSec?: number;
  /** How long a read waits for the cache before it is forwarded. Default 1 s. */
  readonly readWaitMs?: number;
  /** Most revisions in the cache's window. Default 10,000. */
  readonly windowRevisionsMax?: number;
  readonly log?: (message: string) => void;
}

/** Services forwarded whole; KV and Watch are answered from the cache. */
const FORWARDED: readonly proto.ServiceName[] = ['Maintenance', 'Auth', 'Election', 'Lock'];
const GRPC_MAX_MESSAGE_BYTES = 2 * 1024 * 1024 + 512 * 1024;

export class ProxyServer {
  readonly ports: number[] = [];
  private readonly grpcServer: grpc.Server;
  private readonly muxes: ConnectionMux[] = [];
  private readonly openStreams = new Set<() => void>();
  private injector: grpc.ConnectionInjector | undefined;
  private http: FastifyInstance | undefined;
  /** This proxy's first gRPC address, for the JSON gateway's loopback client. */
  private grpcDial: string | undefined;
  private readonly keepAlives: LeaseKeepAliveCoalescer;
  private registration: ResolverRegistration | undefined;

  private constructor(
    readonly context: ProxyContext,
    private readonly pipeline: CachePipeline,
    private readonly relay: HistoryRelay,
    private readonly leaders: LeaderTracker,
    private readonly options: ProxyServerOptions,
  ) {
    this.grpcServer = new grpc.Server({
      'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': -1,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5000,
    });
    this.grpcServer.addService(proto.serviceDefinition('KV'), kvService(context));
    this.grpcServer.addService(proto.serviceDefinition('Watch'), watchService(context, this.openStreams));
    for (const name of FORWARDED) this.grpcServer.addService(rawDefinition(name), forwardService(name, context.upstream));
    // Lease: everything forwarded byte for byte, except keep-alives, coalesced onto one upstream stream.
    this.keepAlives = new LeaseKeepAliveCoalescer(context.upstream, options.log === undefined ? {} : { log: options.log });
    this.grpcServer.addService(
      { ...rawDefinition('Lease'), LeaseKeepAlive: proto.serviceDefinition('Lease').LeaseKeepAlive } as grpc.ServiceDefinition,
      { ...forwardService('Lease', context.upstream, ['LeaseKeepAlive']), LeaseKeepAlive: this.keepAlives.handler() } as grpc.UntypedServiceImplementation,
    );
    // Cluster: with a resolver prefix, MemberList lists the registered proxies instead of the members.
    const prefix = options.resolverPrefix;
    if (prefix === undefined) {
      this.grpcServer.addService(rawDefinition('Cluster'), forwardService('Cluster', context.upstream));
    } else {
      const memberList: proto.ServiceHandlers<'Cluster'>['MemberList'] = unary(async () => registeredMembers(context.upstream, prefix));
      this.grpcServer.addService(
        { ...rawDefinition('Cluster'), MemberList: proto.serviceDefinition('Cluster').MemberList } as grpc.ServiceDefinition,
        { ...forwardService('Cluster', context.upstream, ['MemberList']), MemberList: memberList } as grpc.UntypedServiceImplementation,
      );
    }
  }

  /** Starts the feed and listens on every client URL; resolves once listening (not yet ready: see /readyz). */
  static async start(options: ProxyServerOptions): Promise<ProxyServer> {
    const cache = new WatchCache(options.windowRevisionsMax === undefined ? {} : { windowRevisionsMax: options.windowRevisionsMax });
    const upstream = new Upstream(options.endpoints);
    const relay = new HistoryRelay(upstream, cache);
    const leaders = new LeaderTracker(upstream, options.log === undefined ? {} : { log: options.log });
    const pipeline = new CachePipeline(cache, { relay });
    relay.attach(pipeline.hub);
    let metrics: ProxyMetrics | undefined;
    const feed = new CacheFeed(upstream, cache, {
      onRevision: (rev) => {
        metrics?.eventsApplied.inc(cache.eventsAfter(rev - 1)?.[0]?.events.length ?? 0);
        pipeline.revisionApplied(rev);
      },
      onReset: (rev) => pipeline.reset(rev),
      onRevisionCheck: () => metrics?.upstreamRevisionChecks.inc(),
      log: options.log,
    });
    metrics = new ProxyMetrics({
      cache,
      hub: () => pipeline.hub,
      lagRevisions: () => feed.lagRevisions,
      lagMs: () => feed.lagMs(Date.now()),
    });
    const context: ProxyContext = {
      cache,
      upstream,
      feed,
      hub: pipeline.hub,
      waiters: pipeline.waiters,
      sessions: new SessionTable(),
      metrics,
      readWaitMs: options.readWaitMs ?? 1000,
      isReady: () => feed.ready,
      clusterRevision: () => feed.currentRevision(),
      forwardRange: (request) => upstream.unary('KV', 'Range', request, { idempotent: true }),
      forwardWrite: (method, request) =>
        forwardWrite({ upstream }, method, request).catch((e: unknown) => {
          if (mayMeanNewLeader(e)) leaders.stale();
          throw e;
        }),
      header: (revision) => ({ ...feed.header, revision }),
    };
    const server = new ProxyServer(context, pipeline, relay, leaders, options);
    feed.start();
    leaders.start();
    await server.listen();
    if (options.resolverPrefix !== undefined) {
      server.registration = new ResolverRegistration(upstream, options.resolverPrefix, server.advertisedUrls(), options.resolverTtlSec ?? 60, options.log);
      server.registration.start();
    }
    return server;
  }

  private async listen(): Promise<void> {
    const injector = this.grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.injector = injector;
    this.http = await this.httpApp();
    const http = this.http;
    for (const url of this.options.listenClientUrls) {
      const { host, port } = listenAddress(url);
      const mux = new ConnectionMux({
        onGrpc: (s: Socket) => injector.injectConnection(s),
        onHttp: (s: Socket) => http.server.emit('connection', s),
      });
      this.muxes.push(mux);
      this.ports.push(await mux.listen(host, port));
    }
    const dial = this.ports.map((p, i) => dialAddress(listenAddress(this.options.listenClientUrls[i]!).host, p));
    this.grpcDial = dial[0];
    this.options.log?.(`serving client requests on ${dial.join(', ')}`);
  }

  private async httpApp(): Promise<FastifyInstance> {
    const app = Fastify({ forceCloseConnections: true, exposeHeadRoutes: false });
    const ctx = this.context;
    const json = (ok: boolean) => Buffer.from(JSON.stringify({ health: ok ? 'true' : 'false' }));
    app.get('/livez', async (_req, reply) => reply.code(200).type('text/plain; charset=utf-8').send('ok'));
    app.get('/readyz', async (_req, reply) =>
      ctx.isReady()
        ? reply.code(200).type('text/plain; charset=utf-8').send('ok')
        : reply.code(503).type('text/plain; charset=utf-8').send('[-]cache: not synced with the members yet\nreadyz check failed'),
    );
    app.get('/health', async (_req, reply) => reply.code(ctx.isReady() ? 200 : 503).type('application/json').send(json(ctx.isReady())));
    app.get('/metrics', async (_req, reply) =>
      reply.code(200).header('content-type', ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()),
    );
    registerProxyStatus(app, { context: ctx, advertisedUrls: () => this.advertisedUrls() });
    // etcd's JSON gateway, calling this proxy's own gRPC services (so reads come from the cache).
    registerGateway(app, {
      grpcAddress: () => {
        if (this.grpcDial === undefined) throw new Error('the proxy is not listening yet');
        return this.grpcDial;
      },
    });
    await app.ready();
    return app;
  }

  /** The advertised client URLs, or the listen URLs with the ports actually bound. */
  advertisedUrls(): string[] {
    if (this.options.advertiseClientUrls !== undefined && this.options.advertiseClientUrls.length > 0) return [...this.options.advertiseClientUrls];
    return this.options.listenClientUrls.map((u, i) => {
      const url = new URL(u);
      url.port = String(this.ports[i]);
      return url.origin;
    });
  }

  /** Resolves once the cache holds a listing and its watch is live. */
  whenReady(): Promise<void> {
    return this.context.feed.whenReady();
  }

  async close(): Promise<void> {
    for (const stop of [...this.openStreams]) stop();
    await this.registration?.close();
    this.keepAlives.close();
    this.leaders.close();
    this.context.feed.close();
    this.relay.close();
    this.pipeline.close();
    const muxesClosed = Promise.all(this.muxes.map((m) => m.close()));
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
    this.injector?.destroy();
    await this.http?.close();
    await muxesClosed;
    this.context.upstream.close();
  }
}

/** A write error after which the leader we know may be wrong (etcd's leader errors, a lost member). */
function mayMeanNewLeader(e: unknown): boolean {
  const err = e as Partial<grpc.ServiceError>;
  return err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED || (err.details ?? '').includes('leader');
}
