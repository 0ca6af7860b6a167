/** `kvfleet proxy`: runs a read proxy in front of members until SIGTERM or SIGINT, then stops it cleanly. */
import { parseArgs } from 'node:util';
import { ProxyServer } from '@kvfleet/proxy';
import { etcdserver } from '@kvfleet/server';
import { warnFailpoints } from './failpoint-warning.js';

export const PROXY_USAGE = `Usage: kvfleet proxy --endpoints HOST:PORT[,HOST:PORT...] [options]

Runs a read proxy: the whole keyspace in a watch cache fed by one upstream watch; Range and Watch
answered from it, everything else forwarded to the members (kvfleet or etcd).

Options:
  --endpoints                comma-separated member client addresses (host:port or URLs)
  --listen-client-urls       URLs to serve clients on (gRPC and HTTP on each)   [http://127.0.0.1:23790]
  --advertise-client-urls    URLs this proxy is reached at (registered for discovery) [the listen URLs]
  --resolver-prefix          register under PREFIX/<advertise URL> on the members and answer
                             MemberList with the registered proxies (etcd grpc-proxy's flag)
  --resolver-ttl             TTL in seconds of the registration lease            [60]
  --read-wait-ms             how long a read waits for the cache before it is forwarded [1000]
  --window-revisions         revisions of events kept in memory for history reads and watches [10000]
  --log-level                debug, info, warn or error                          [info]
  -h, --help                 show this help
`;

export async function proxyCommand(argv: string[]): Promise<number> {
  let options;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        endpoints: { type: 'string' },
        'listen-client-urls': { type: 'string', default: 'http://127.0.0.1:23790' },
        'advertise-client-urls': { type: 'string' },
        'resolver-prefix': { type: 'string' },
        'resolver-ttl': { type: 'string', default: '60' },
        'read-wait-ms': { type: 'string', default: '1000' },
        'window-revisions': { type: 'string', default: '10000' },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help === true) {
      process.stdout.write(PROXY_USAGE);
      return 0;
    }
    const list = (raw: string | undefined) => (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const endpoints = list(values.endpoints);
    if (endpoints.length === 0) throw new Error('--endpoints is required');
    const int = (name: string, raw: string, min: number) => {
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || n < min) throw new Error(`--${name}: "${raw}" must be an integer >= ${String(min)}`);
      return n;
    };
    const logLevel = values['log-level'];
    if (!etcdserver.isLogLevel(logLevel)) throw new Error(`--log-level: "${logLevel}" is not debug, info, warn or error`);
    options = {
      endpoints,
      listenClientUrls: list(values['listen-client-urls']),
      advertiseClientUrls: list(values['advertise-client-urls']),
      ...(values['resolver-prefix'] === undefined || values['resolver-prefix'] === '' ? {} : { resolverPrefix: values['resolver-prefix'] }),
      resolverTtlSec: int('resolver-ttl', values['resolver-ttl'], 1),
      readWaitMs: int('read-wait-ms', values['read-wait-ms'], 1),
      windowRevisionsMax: int('window-revisions', values['window-revisions'], 1),
      logger: etcdserver.createLogger(logLevel, { role: 'proxy' }),
    };
  } catch (e) {
    process.stderr.write(`kvfleet proxy: ${(e as Error).message}\n\n${PROXY_USAGE}`);
    return 2;
  }
  const { logger, ...settings } = options;
  warnFailpoints(logger);
  const proxy = await ProxyServer.start({ ...settings, log: (msg) => logger.info(msg) });
  void proxy.whenReady().then(() => logger.info('ready: cache synced with the members', { endpoints: settings.endpoints }));
  await new Promise<void>((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (received) return;
      received = true;
      logger.info('received signal, shutting down', { signal });
      resolve();
    };
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(s, onSignal);
  });
  await proxy.close();
  logger.info('stopped');
  return 0;
}
