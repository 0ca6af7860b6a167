/**
 * The status page's routes, the same on members and proxies: `/status` (the page), its script
 * and stylesheet, and `/status.json` (what the page polls). Everything is same-origin and the
 * page's Content-Security-Policy forbids anything else, so it works on an air-gapped cluster
 * and cannot be made to load a third party's script.
 */
import type { FastifyInstance } from 'fastify';
import { STATUS_SAMPLE_INTERVAL_MS, StatusHistory, type StatusSample } from './status-history.js';
import { STATUS_PAGE_CSS, STATUS_PAGE_HTML, STATUS_PAGE_SCRIPT } from './status-page.js';
import type { StatusSnapshot } from './status-snapshot.js';

/** What a member or a proxy gives its status page. */
export interface StatusPageSource {
  /** Its counts now. */
  sample(): StatusSample | Promise<StatusSample>;
  /** Its snapshot, given the history so far ending with a sample taken now (the charts reach the present). */
  snapshot(history: StatusSample[]): Promise<StatusSnapshot>;
  /** Runs `fn` every `ms` until the returned function is called (a member's clock, a proxy's timers). */
  every(fn: () => void, ms: number): () => void;
}

/** The page on `app`, sampling `source` every 5 s until the app closes. */
export function registerStatusPage(app: FastifyInstance, source: StatusPageSource): void {
  const history = new StatusHistory();
  const take = async (): Promise<void> => history.add(await source.sample());
  void take();
  const stop = source.every(() => void take(), STATUS_SAMPLE_INTERVAL_MS);
  app.addHook('onClose', async () => stop());
  registerStatusRoutes(app, async () => source.snapshot([...history.samples(), await source.sample()]));
}

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Adds the routes; `snapshot` is called once per poll of `/status.json`. */
function registerStatusRoutes(app: FastifyInstance, snapshot: () => Promise<StatusSnapshot>): void {
  const asset = (path: string, type: string, body: string, extra: Record<string, string> = {}): void => {
    const bytes = Buffer.from(body);
    app.get(path, async (_req, reply) => {
      await reply
        .code(200)
        .header('content-type', type)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-cache')
        .headers(extra)
        .send(bytes);
    });
  };
  asset('/status', 'text/html; charset=utf-8', STATUS_PAGE_HTML, { 'content-security-policy': CSP, 'referrer-policy': 'no-referrer' });
  asset('/status/app.js', 'text/javascript; charset=utf-8', STATUS_PAGE_SCRIPT);
  asset('/status/app.css', 'text/css; charset=utf-8', STATUS_PAGE_CSS);
  app.get('/status.json', async (_req, reply) => {
    const body = Buffer.from(JSON.stringify(await snapshot()));
    await reply.code(200).header('content-type', 'application/json').header('cache-control', 'no-store').send(body);
  });
}
