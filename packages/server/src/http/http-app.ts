/**
 * The fastify app behind a member's HTTP/1.1 side. On the client URLs (shared with gRPC through
 * connection-mux.ts) it serves what etcd serves there: /health, /livez, /readyz, /version,
 * /metrics, with etcd's CORS headers and Go's 404 text, kvfleet's status page (/status), plus
 * whatever plugins add (the JSON gateway). On `--listen-metrics-urls` it serves /metrics and the health endpoints only, without
 * CORS headers, as etcd does.
 *
 * The app never listens itself: the caller hands it connections (`app.server.emit('connection')`)
 * or listens with it (metrics-listener.ts).
 */
import { failpointsOn, setFailpoint } from '@kvfleet/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { API_VERSION, CLUSTER_VERSION } from '../version.js';
import { type HealthMember, allowGet, goError, registerHealthRoutes } from './health.js';
import { registerMemberStatus, type StatusPageMember } from './member-status.js';

/** What the HTTP side reads of the member. */
export type HttpMember = HealthMember & StatusPageMember;

/** What a plugin gets besides the app. */
export interface HttpAppContext {
  readonly member: HttpMember;
  /** `host:port` of this member's gRPC API on its first client URL; throws before it listens. */
  grpcAddress(): string;
}

/** Adds routes to the client URL app (e.g. `(app, ctx) => registerGateway(app, { grpcAddress: ctx.grpcAddress() })`). */
export type HttpPlugin = (app: FastifyInstance, context: HttpAppContext) => void | Promise<void>;

export interface HttpAppOptions {
  /** `client` (default): the client URL app; `metrics`: the --listen-metrics-urls app. */
  readonly role?: 'client' | 'metrics';
  /** Run in order before the app is ready; only for the client role. */
  readonly plugins?: readonly HttpPlugin[];
  readonly grpcAddress?: () => string | undefined;
}

/** etcd's client handler answers every HTTP request with these (cors.go, default origin `*`). */
const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'access-control-allow-headers': 'accept, content-type, authorization',
} as const;

/** Builds the app and waits until it is ready to take connections. */
export async function createHttpApp(member: HttpMember, options: HttpAppOptions = {}): Promise<FastifyInstance> {
  const role = options.role ?? 'client';
  // Keep-alive connections must not hold a member's shutdown: close them with the app.
  const app = Fastify({ forceCloseConnections: true, exposeHeadRoutes: false });
  if (role === 'client') {
    app.addHook('onRequest', async (_req, reply) => {
      void reply.headers(CORS_HEADERS);
    });
  }
  app.setNotFoundHandler((_req, reply) => goError(reply, 404, '404 page not found'));

  registerHealthRoutes(app, member);
  app.all('/metrics', async (_req, reply) => {
    const text = await member.metrics.text();
    await reply.code(200).header('content-type', member.metrics.contentType).send(text);
  });
  if (role === 'client' && failpointsOn) {
    // Robustness tests arm failpoints at runtime, as etcd's gofail endpoint; absent in production.
    app.put<{ Params: { name: string } }>('/debug/failpoints/:name', async (req, reply) => {
      try {
        setFailpoint(req.params.name, String(req.body ?? '').trim());
        await reply.code(204).send();
      } catch (e) {
        await reply.code(400).type('text/plain; charset=utf-8').send((e as Error).message);
      }
    });
  }
  if (role === 'client') {
    app.all('/version', async (req, reply) => {
      if (!allowGet(req, reply)) return;
      // etcd reports the cluster version as major.minor.0.
      await reply
        .code(200)
        .header('content-type', 'application/json')
        // A Buffer, so fastify keeps etcd's bare `application/json` (no charset).
        .send(Buffer.from(JSON.stringify({ etcdserver: API_VERSION, etcdcluster: CLUSTER_VERSION })));
    });
    registerMemberStatus(app, member);
    const context: HttpAppContext = {
      member,
      grpcAddress: () => {
        const address = options.grpcAddress?.();
        if (address === undefined) throw new Error('the member is not listening on a client URL yet');
        return address;
      },
    };
    for (const plugin of options.plugins ?? []) await plugin(app, context);
  }
  await app.ready();
  return app;
}
