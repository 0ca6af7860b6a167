import { describe, expect, it } from 'vitest';
import { FlagError, parseServerFlags } from '../src/server-flags.js';

const parse = (argv: string[], env: Record<string, string> = {}) => parseServerFlags(argv, env);

function flagError(argv: string[], env: Record<string, string> = {}): string {
  try {
    parse(argv, env);
  } catch (e) {
    expect(e).toBeInstanceOf(FlagError);
    return (e as Error).message;
  }
  throw new Error(`expected a FlagError for ${JSON.stringify(argv)}`);
}

describe('parseServerFlags: defaults', () => {
  it('gives etcd defaults with no flags and an empty environment', () => {
    expect(parse([])).toEqual({
      name: 'default',
      dataDir: 'default.etcd',
      listenClientUrls: 'http://localhost:2379',
      advertiseClientUrls: 'http://localhost:2379',
      listenMetricsUrls: '',
      listenPeerUrls: 'http://localhost:2380',
      initialAdvertisePeerUrls: 'http://localhost:2380',
      initialCluster: 'default=http://localhost:2380',
      initialClusterState: 'new',
      initialClusterToken: 'etcd-cluster',
      snapshotCount: 10000,
      snapshotCatchUpEntries: 5000,
      heartbeatIntervalMs: 100,
      electionTimeoutMs: 1000,
      maxRequestBytes: 1572864,
      maxTxnOps: 128,
      quotaBackendBytes: 0,
      backend: 'lmdb',
      logLevel: 'info',
    });
  });

  it('reads --listen-metrics-urls as etcd does, flag or ETCD_LISTEN_METRICS_URLS', () => {
    expect(parse(['--listen-metrics-urls', 'http://127.0.0.1:2381']).listenMetricsUrls).toBe('http://127.0.0.1:2381');
    expect(parseServerFlags([], { ETCD_LISTEN_METRICS_URLS: 'http://0.0.0.0:2381' }).listenMetricsUrls).toBe('http://0.0.0.0:2381');
  });

  it('the data dir defaults to <name>.etcd', () => {
    expect(parse(['--name', 'infra0']).dataDir).toBe('infra0.etcd');
    expect(parse(['--name', 'infra0', '--data-dir', '/var/lib/etcd']).dataDir).toBe('/var/lib/etcd');
  });

  it('the default --initial-cluster comes from --name and --initial-advertise-peer-urls', () => {
    expect(parse(['--name', 'infra0']).initialCluster).toBe('infra0=http://localhost:2380');
    expect(parse(['--name', 'infra0', '--initial-advertise-peer-urls', 'http://10.0.1.10:2380']).initialCluster).toBe(
      'infra0=http://10.0.1.10:2380',
    );
    expect(parse(['--name', 'n', '--initial-advertise-peer-urls', 'http://a:2380,http://b:2380']).initialCluster).toBe(
      'n=http://a:2380,n=http://b:2380',
    );
    // From the environment too.
    expect(parse([], { ETCD_NAME: 'envname', ETCD_INITIAL_ADVERTISE_PEER_URLS: 'http://e:2380' }).initialCluster).toBe(
      'envname=http://e:2380',
    );
  });

  it('an explicit --initial-cluster is kept as given', () => {
    const spec = 'infra0=http://10.0.1.10:2380,infra1=http://10.0.1.11:2380';
    expect(parse(['--name', 'infra0', '--initial-cluster', spec]).initialCluster).toBe(spec);
  });
});

describe('parseServerFlags: forms', () => {
  it('accepts --flag=value and --flag value', () => {
    const a = parse(['--name=x', '--snapshot-count=5', '--initial-cluster-state=existing']);
    const b = parse(['--name', 'x', '--snapshot-count', '5', '--initial-cluster-state', 'existing']);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ name: 'x', snapshotCount: 5, initialClusterState: 'existing' });
  });

  it('a value may contain "=" (the first one splits)', () => {
    expect(parse(['--initial-cluster=a=http://h:1,b=http://h:2']).initialCluster).toBe('a=http://h:1,b=http://h:2');
  });

  it('reads every flag', () => {
    const f = parse([
      '--listen-client-urls=http://0.0.0.0:2379',
      '--advertise-client-urls=http://10.0.0.1:2379',
      '--listen-peer-urls=http://0.0.0.0:2380',
      '--initial-cluster-token=tok',
      '--experimental-snapshot-catchup-entries=7',
      '--heartbeat-interval=50',
      '--election-timeout=500',
      '--max-request-bytes=1024',
      '--max-txn-ops=4',
      '--quota-backend-bytes=8589934592',
      '--backend=memory',
      '--log-level=debug',
    ]);
    expect(f).toMatchObject({
      listenClientUrls: 'http://0.0.0.0:2379',
      advertiseClientUrls: 'http://10.0.0.1:2379',
      listenPeerUrls: 'http://0.0.0.0:2380',
      initialClusterToken: 'tok',
      snapshotCatchUpEntries: 7,
      heartbeatIntervalMs: 50,
      electionTimeoutMs: 500,
      maxRequestBytes: 1024,
      maxTxnOps: 4,
      quotaBackendBytes: 8589934592,
      backend: 'memory',
      logLevel: 'debug',
    });
  });

  it('refuses unknown flags and positional arguments', () => {
    flagError(['--no-such-flag=1']);
    flagError(['--nmae', 'x']);
    flagError(['extra']);
  });

  it('refuses a flag without its value', () => {
    flagError(['--name']);
  });
});

describe('parseServerFlags: environment', () => {
  it('reads ETCD_* variables, dashes as underscores', () => {
    const f = parse([], {
      ETCD_NAME: 'e1',
      ETCD_DATA_DIR: '/data',
      ETCD_INITIAL_CLUSTER: 'e1=http://h:2380',
      ETCD_INITIAL_CLUSTER_STATE: 'existing',
      ETCD_INITIAL_CLUSTER_TOKEN: 'tk',
      ETCD_SNAPSHOT_COUNT: '42',
      ETCD_HEARTBEAT_INTERVAL: '200',
      ETCD_ELECTION_TIMEOUT: '2000',
      ETCD_MAX_TXN_OPS: '9',
      ETCD_EXPERIMENTAL_SNAPSHOT_CATCHUP_ENTRIES: '11',
    });
    expect(f).toMatchObject({
      name: 'e1',
      dataDir: '/data',
      initialCluster: 'e1=http://h:2380',
      initialClusterState: 'existing',
      initialClusterToken: 'tk',
      snapshotCount: 42,
      heartbeatIntervalMs: 200,
      electionTimeoutMs: 2000,
      maxTxnOps: 9,
      snapshotCatchUpEntries: 11,
    });
  });

  it('the command line wins over the environment', () => {
    const f = parse(['--name', 'cli', '--snapshot-count=7'], { ETCD_NAME: 'env', ETCD_SNAPSHOT_COUNT: '99', ETCD_MAX_TXN_OPS: '3' });
    expect(f.name).toBe('cli');
    expect(f.snapshotCount).toBe(7);
    expect(f.maxTxnOps).toBe(3);
  });

  it('ignores unrelated variables', () => {
    expect(parse([], { NAME: 'x', ETCDCTL_ENDPOINTS: 'http://h:1', HOME: '/root' }).name).toBe('default');
  });

  it('an empty ETCD_* variable is ignored, as etcd does (it only uses non-empty values)', () => {
    expect(parse([], { ETCD_NAME: '' }).name).toBe('default');
    expect(parse([], { ETCD_SNAPSHOT_COUNT: '' }).snapshotCount).toBe(10000);
  });

  it('a bad integer from the environment is refused', () => {
    flagError([], { ETCD_SNAPSHOT_COUNT: 'lots' });
  });
});

describe('parseServerFlags: validation', () => {
  for (const bad of ['abc', '1.5', '-1', '', '1e3', '0x10', ' 5', '99999999999999999999']) {
    it(`refuses --snapshot-count=${JSON.stringify(bad)}`, () => {
      flagError([`--snapshot-count=${bad}`]);
    });
  }

  it('refuses zero where a positive number is needed, allows it for --quota-backend-bytes', () => {
    flagError(['--heartbeat-interval=0']);
    flagError(['--max-txn-ops=0']);
    flagError(['--max-request-bytes=0']);
    flagError(['--snapshot-count=0']);
    expect(parse(['--quota-backend-bytes=0']).quotaBackendBytes).toBe(0);
  });

  it('names the flag in the message', () => {
    expect(flagError(['--max-txn-ops=x'])).toContain('--max-txn-ops');
  });

  it('--election-timeout must be at least 5 × --heartbeat-interval', () => {
    expect(flagError(['--heartbeat-interval=100', '--election-timeout=499'])).toMatch(/election-timeout/);
    expect(parse(['--heartbeat-interval=100', '--election-timeout=500']).electionTimeoutMs).toBe(500);
    flagError(['--heartbeat-interval=300']); // default election timeout 1000 < 1500
    flagError([], { ETCD_HEARTBEAT_INTERVAL: '250' });
    expect(parse(['--heartbeat-interval=200']).heartbeatIntervalMs).toBe(200);
  });

  it('refuses a bad --initial-cluster-state and --backend', () => {
    flagError(['--initial-cluster-state=old']);
    flagError(['--backend=bolt']);
    flagError([], { ETCD_INITIAL_CLUSTER_STATE: 'NEW' });
  });
});
