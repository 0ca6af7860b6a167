/**
 * `kvfleet server` flags: etcd's names, meanings and defaults, so scripts and manifests written
 * for etcd start a kvfleet member unchanged. Each flag may also come from the environment as
 * etcd reads it (`ETCD_<NAME>` with dashes as underscores, e.g. ETCD_INITIAL_CLUSTER); the
 * command line wins.
 */
import { parseArgs } from 'node:util';
import type { etcdserver } from '@kvfleet/server';

/** The member settings whose flags are comma-separated URL lists, parsed by the caller. */
export type UrlListSetting = 'listenClientUrls' | 'advertiseClientUrls' | 'listenMetricsUrls' | 'listenPeerUrls' | 'initialAdvertisePeerUrls';

/**
 * The flags as parsed: a member's settings, with the URL lists still as given (empty when a
 * list flag is not set) and the log level instead of a logger.
 */
export type ServerFlags = Omit<etcdserver.MemberConfig, UrlListSetting | 'logger'> &
  Readonly<Record<UrlListSetting, string>> & { readonly logLevel: string };

const STRING_FLAGS = {
  name: 'default',
  'data-dir': '',
  'listen-client-urls': 'http://localhost:2379',
  'advertise-client-urls': 'http://localhost:2379',
  'listen-metrics-urls': '',
  'listen-peer-urls': 'http://localhost:2380',
  'initial-advertise-peer-urls': 'http://localhost:2380',
  'initial-cluster': '',
  'initial-cluster-state': 'new',
  'initial-cluster-token': 'etcd-cluster',
  'snapshot-count': '10000',
  'experimental-snapshot-catchup-entries': '5000',
  'heartbeat-interval': '100',
  'election-timeout': '1000',
  'max-request-bytes': '1572864',
  'max-txn-ops': '128',
  'quota-backend-bytes': '0',
  backend: 'lmdb',
  'log-level': 'info',
} as const;

type FlagName = keyof typeof STRING_FLAGS;

export class FlagError extends Error {
  override readonly name = 'FlagError';
}

export const SERVER_USAGE = `Usage: kvfleet server [flags]

Starts a Raft member. Flags are etcd's (also read from ETCD_* environment variables):
  --name                         member name (default "default")
  --data-dir                     data directory (default "<name>.etcd")
  --listen-client-urls           URLs to serve clients on (default http://localhost:2379)
  --advertise-client-urls        client URLs to advertise (default http://localhost:2379)
  --listen-metrics-urls          more URLs serving /metrics and the health endpoints (http)
  --listen-peer-urls             URLs to serve peers on (default http://localhost:2380)
  --initial-advertise-peer-urls  peer URLs to advertise (default http://localhost:2380)
  --initial-cluster              founding members, name=peerURL,... (default <name>=<advertised peer URLs>)
  --initial-cluster-state        new | existing (default new)
  --initial-cluster-token        cluster token (default etcd-cluster)
  --snapshot-count               applied entries between snapshots (default 10000)
  --experimental-snapshot-catchup-entries
                                 entries kept behind a snapshot for slow followers (default 5000)
  --heartbeat-interval           ms between heartbeats (default 100)
  --election-timeout             ms without a leader before an election (default 1000)
  --max-request-bytes            largest client request (default 1572864)
  --max-txn-ops                  most operations in one txn (default 128)
  --quota-backend-bytes          backend size alarm threshold, 0 for the default
  --backend                      lmdb | memory (kvfleet; default lmdb)
  --log-level                    debug | info | warn | error (default info)
On a data dir that already holds a member, the --initial-cluster* flags are ignored.
`;

export function parseServerFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): ServerFlags {
  const options = Object.fromEntries(Object.keys(STRING_FLAGS).map((k) => [k, { type: 'string' as const }]));
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, string | undefined>;
  } catch (e) {
    throw new FlagError((e as Error).message);
  }
  const get = (flag: FlagName): string => {
    // etcd ignores an empty variable.
    const fromEnv = env[`ETCD_${flag.toUpperCase().replace(/-/g, '_')}`] || undefined;
    return values[flag] ?? fromEnv ?? STRING_FLAGS[flag];
  };
  const int = (flag: FlagName, min: number): number => {
    const raw = get(flag);
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min) {
      throw new FlagError(`--${flag}: "${raw}" is not an integer >= ${String(min)}`);
    }
    return n;
  };
  const name = get('name');
  const state = get('initial-cluster-state');
  if (state !== 'new' && state !== 'existing') {
    throw new FlagError(`--initial-cluster-state: "${state}" must be new or existing`);
  }
  const backend = get('backend');
  if (backend !== 'lmdb' && backend !== 'memory') throw new FlagError(`--backend: "${backend}" must be lmdb or memory`);
  const peerUrls = get('initial-advertise-peer-urls');
  const initialCluster = get('initial-cluster') || peerUrls.split(',').map((u) => `${name}=${u.trim()}`).join(',');
  const heartbeatIntervalMs = int('heartbeat-interval', 1);
  const electionTimeoutMs = int('election-timeout', 1);
  if (electionTimeoutMs < 5 * heartbeatIntervalMs) {
    throw new FlagError('--election-timeout must be at least 5 times --heartbeat-interval');
  }
  return {
    name,
    dataDir: get('data-dir') || `${name}.etcd`,
    listenClientUrls: get('listen-client-urls'),
    advertiseClientUrls: get('advertise-client-urls'),
    listenMetricsUrls: get('listen-metrics-urls'),
    listenPeerUrls: get('listen-peer-urls'),
    initialAdvertisePeerUrls: peerUrls,
    initialCluster,
    initialClusterState: state,
    initialClusterToken: get('initial-cluster-token'),
    snapshotCount: int('snapshot-count', 1),
    snapshotCatchUpEntries: int('experimental-snapshot-catchup-entries', 1),
    heartbeatIntervalMs,
    electionTimeoutMs,
    maxRequestBytes: int('max-request-bytes', 1),
    maxTxnOps: int('max-txn-ops', 1),
    quotaBackendBytes: int('quota-backend-bytes', 0),
    backend,
    logLevel: get('log-level'),
  };
}
