/**
 * `--listen-metrics-urls`: extra plain-HTTP listeners serving /metrics and the health
 * endpoints, as etcd serves them there (no /version, no CORS headers, no gRPC).
 */
import type { FastifyInstance } from 'fastify';
import { ConnectionMux } from '@kvfleet/core';
import { createHttpApp, type HttpMember } from './http-app.js';
import { listenAddress } from '@kvfleet/core';

export class MetricsListener {
  private readonly muxes: ConnectionMux[] = [];
  readonly ports: number[] = [];

  private constructor(private readonly app: FastifyInstance) {}

  /** Listens on every URL (http only); resolves once all are bound. */
  static async start(member: HttpMember, urls: readonly string[]): Promise<MetricsListener> {
    const app = await createHttpApp(member, { role: 'metrics' });
    const listener = new MetricsListener(app);
    try {
      for (const url of urls) {
        const { host, port } = listenAddress(url);
        // The mux only to share its connection bookkeeping: an HTTP/2 preface here is refused.
        const mux = new ConnectionMux({ onGrpc: (s) => s.destroy(), onHttp: (s) => app.server.emit('connection', s) });
        listener.muxes.push(mux);
        listener.ports.push(await mux.listen(host, port));
      }
    } catch (e) {
      await listener.close();
      throw e;
    }
    return listener;
  }

  async close(): Promise<void> {
    const closing = this.muxes.map((m) => m.close());
    await this.app.close();
    await Promise.all(closing);
  }
}
