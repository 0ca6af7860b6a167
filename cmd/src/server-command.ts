/** `kvfleet server`: runs one Raft member until SIGTERM or SIGINT, then stops it cleanly. */
import { embed, etcdserver, member } from '@kvfleet/server';
import { warnFailpoints } from './failpoint-warning.js';
import { FlagError, parseServerFlags, SERVER_USAGE } from './server-flags.js';

export async function serverCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(SERVER_USAGE);
    return 0;
  }
  let config: etcdserver.MemberConfig;
  try {
    const flags = parseServerFlags(argv);
    if (!etcdserver.isLogLevel(flags.logLevel)) throw new FlagError(`--log-level: "${flags.logLevel}" is not debug, info, warn or error`);
    const { logLevel, ...settings } = flags;
    config = {
      ...settings,
      listenClientUrls: member.parseUrlList(flags.listenClientUrls, '--listen-client-urls'),
      advertiseClientUrls: member.parseUrlList(flags.advertiseClientUrls, '--advertise-client-urls'),
      listenMetricsUrls: flags.listenMetricsUrls === '' ? [] : member.parseUrlList(flags.listenMetricsUrls, '--listen-metrics-urls'),
      listenPeerUrls: member.parseUrlList(flags.listenPeerUrls, '--listen-peer-urls'),
      initialAdvertisePeerUrls: member.parseUrlList(flags.initialAdvertisePeerUrls, '--initial-advertise-peer-urls'),
      logger: etcdserver.createLogger(logLevel, { name: flags.name }),
    };
  } catch (e) {
    if (e instanceof FlagError || e instanceof member.ClusterConfigError) {
      process.stderr.write(`kvfleet server: ${e.message}\n\n${SERVER_USAGE}`);
      return 2;
    }
    throw e;
  }
  warnFailpoints(config.logger);
  const running = await embed.startMember(config);
  await new Promise<void>((resolve) => {
    let received = false;
    // Later signals are ignored while stopping (Ctrl-C under `kvfleet up` delivers SIGINT from
    // the terminal and SIGTERM from the parent): the first one starts a clean stop.
    const onSignal = (signal: NodeJS.Signals): void => {
      if (received) return;
      received = true;
      config.logger.info('received signal, shutting down', { signal });
      resolve();
    };
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(s, onSignal);
  });
  await running.stop();
  config.logger.info('stopped');
  return 0;
}
