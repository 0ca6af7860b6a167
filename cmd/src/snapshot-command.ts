/**
 * `kvfleet snapshot restore <file>`: etcdctl's `snapshot restore` for kvfleet members, with
 * etcdctl's flags and defaults. (`snapshot save` is etcdctl's own: `etcdctl snapshot save`
 * works against a kvfleet member as it does against etcd.)
 */
import { parseArgs } from 'node:util';
import { maintenance, member } from '@kvfleet/server';

export const SNAPSHOT_USAGE = `Usage: kvfleet snapshot restore <filename> [flags]

Restores a snapshot saved by 'etcdctl snapshot save' into a new member data dir; the members
restored with the same --initial-cluster and token start a new cluster holding the data.
  --name                         member name (default "default")
  --data-dir                     data directory to create (default "<name>.etcd")
  --initial-cluster              the new cluster, name=peerURL,... (default "default=http://localhost:2380")
  --initial-cluster-token        the new cluster's token (default "etcd-cluster")
  --initial-advertise-peer-urls  this member's peer URLs (default "http://localhost:2380")
  --skip-hash-check              accept a file without the snapshot's trailing sha256
  --backend                      lmdb | memory: what the member will run with (kvfleet; default lmdb)
`;

const BOOL_VALUE = /^--skip-hash-check=(true|false|1|0)$/;

export async function snapshotCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv.length === 0) {
    process.stdout.write(SNAPSHOT_USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] !== 'restore') {
    process.stderr.write(`kvfleet snapshot: unknown subcommand "${argv[0]}" (use etcdctl snapshot save to save one)\n\n${SNAPSHOT_USAGE}`);
    return 2;
  }
  // Go's boolean flags also take --flag=true|false.
  let skipHashCheck = false;
  const args = argv.slice(1).filter((a) => {
    const m = BOOL_VALUE.exec(a);
    if (m === null) return true;
    skipHashCheck = m[1] === 'true' || m[1] === '1';
    return false;
  });
  let options: maintenance.RestoreOptions;
  try {
    const { values, positionals } = parseArgs({
      args,
      options: {
        name: { type: 'string', default: 'default' },
        'data-dir': { type: 'string' },
        'initial-cluster': { type: 'string', default: 'default=http://localhost:2380' },
        'initial-cluster-token': { type: 'string', default: 'etcd-cluster' },
        'initial-advertise-peer-urls': { type: 'string', default: 'http://localhost:2380' },
        'skip-hash-check': { type: 'boolean' },
        backend: { type: 'string', default: 'lmdb' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new Error('snapshot restore expects one argument: the snapshot file');
    const backend = values.backend;
    if (backend !== 'lmdb' && backend !== 'memory') throw new Error(`--backend: "${backend}" must be lmdb or memory`);
    options = {
      snapshotPath: positionals[0]!,
      name: values.name,
      dataDir: values['data-dir'] ?? `${values.name}.etcd`,
      initialCluster: values['initial-cluster'],
      initialClusterToken: values['initial-cluster-token'],
      initialAdvertisePeerUrls: member.parseUrlList(values['initial-advertise-peer-urls'], '--initial-advertise-peer-urls'),
      skipHashCheck: skipHashCheck || values['skip-hash-check'] === true,
      backend,
    };
  } catch (e) {
    process.stderr.write(`kvfleet snapshot restore: ${(e as Error).message}\n\n${SNAPSHOT_USAGE}`);
    return 2;
  }
  try {
    const r = await maintenance.restoreSnapshot(options);
    process.stderr.write(
      `restored snapshot ${options.snapshotPath} into ${options.dataDir}: member ${r.memberId.toString(16)} of cluster ${r.clusterId.toString(16)}, ${String(r.entries)} records\n`,
    );
    return 0;
  } catch (e) {
    if (e instanceof maintenance.RestoreError || e instanceof member.ClusterConfigError) {
      process.stderr.write(`Error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
