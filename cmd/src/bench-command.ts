/** `kvfleet bench`: load against any etcd v3 endpoints (members, proxies, etcd), reported as text or JSON. */
import { parseArgs } from 'node:util';
import { prepareKeys, runBench, type BenchOptions, type BenchResult, type WorkloadName } from './bench/workloads.js';

export const BENCH_USAGE = `Usage: kvfleet bench <put|range|txn|mixed|load|watch> --endpoints HOST:PORT[,...] [options]

Workloads:
  put        1 key per request, random keys in --key-space
  range      --limit 1: one key; --limit N: a page of N keys of the prefix; --serializable or not
  txn        one compare on the key's mod revision, one put
  mixed      --read-ratio of ranges, the rest puts
  load       every key of --key-space written once, --batch puts per txn (bulk load)
  watch      --watchers over --streams, spread over --prefixes sub-prefixes of the prefix,
             one writer at --rate; latency from each put being issued to each watcher
             receiving its event

Options:
  --endpoints       comma-separated client addresses (host:port or URLs)      [127.0.0.1:2379]
  --clients         concurrent requests in flight                              [50]
  --conns           gRPC connections (clients share them round robin)          [10]
  --key-size        bytes per key (the prefix included)                        [32]
  --val-size        bytes per value                                            [1024]
  --key-space       distinct keys                                              [10000]
  --rate            total operations per second (0: as fast as possible)       [0]
  --duration        seconds to run                                             [10]
  --total           stop after this many operations instead of --duration      [0]
  --serializable    range: serializable reads                                  [false]
  --limit           range: keys per request                                    [1]
  --read-ratio      mixed: share of reads                                      [0.9]
  --watchers        watch: watchers                                            [100]
  --streams         watch: watch streams the watchers are spread over          [10]
  --prefixes        watch: sub-prefixes the watchers are spread over           [1]
  --batch           load and --prepare: puts per txn                           [100]
  --prefix          key prefix                                                 [bench/]
  --prepare         write every key of --key-space first (for reads)           [false for put]
  --no-prepare      range, mixed: the keys are already there
  --json            print the result as one JSON object
  -h, --help        show this help
`;

const WORKLOADS: readonly WorkloadName[] = ['put', 'range', 'txn', 'mixed', 'load', 'watch'];

export async function benchCommand(argv: string[]): Promise<number> {
  let options: BenchOptions;
  let json = false;
  let prepare = false;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        endpoints: { type: 'string', default: '127.0.0.1:2379' },
        clients: { type: 'string', default: '50' },
        conns: { type: 'string', default: '10' },
        'key-size': { type: 'string', default: '32' },
        'val-size': { type: 'string', default: '1024' },
        'key-space': { type: 'string', default: '10000' },
        rate: { type: 'string', default: '0' },
        duration: { type: 'string', default: '10' },
        total: { type: 'string', default: '0' },
        serializable: { type: 'boolean', default: false },
        limit: { type: 'string', default: '1' },
        'read-ratio': { type: 'string', default: '0.9' },
        watchers: { type: 'string', default: '100' },
        streams: { type: 'string', default: '10' },
        prefixes: { type: 'string', default: '1' },
        batch: { type: 'string', default: '100' },
        prefix: { type: 'string', default: 'bench/' },
        prepare: { type: 'boolean' },
        'no-prepare': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help === true) {
      process.stdout.write(BENCH_USAGE);
      return 0;
    }
    const workload = positionals[0] as WorkloadName | undefined;
    if (workload === undefined || !WORKLOADS.includes(workload)) throw new Error(`the workload must be one of ${WORKLOADS.join(', ')}`);
    const num = (name: string, raw: string, min: number) => {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < min) throw new Error(`--${name}: "${raw}" must be a number >= ${String(min)}`);
      return n;
    };
    const endpoints = values.endpoints.split(',').map((s) => s.trim()).filter(Boolean);
    if (endpoints.length === 0) throw new Error('--endpoints is required');
    json = values.json;
    prepare = !values['no-prepare'] && (values.prepare ?? (workload === 'range' || workload === 'mixed'));
    options = {
      workload,
      endpoints,
      clients: num('clients', values.clients, 1),
      connections: num('conns', values.conns, 1),
      keySize: num('key-size', values['key-size'], 1),
      valueSize: num('val-size', values['val-size'], 0),
      keySpace: num('key-space', values['key-space'], 1),
      rate: num('rate', values.rate, 0),
      durationMs: num('duration', values.duration, 0.1) * 1000,
      total: num('total', values.total, 0),
      serializable: values.serializable,
      rangeLimit: num('limit', values.limit, 1),
      readRatio: Math.min(1, num('read-ratio', values['read-ratio'], 0)),
      watchers: num('watchers', values.watchers, 1),
      streams: num('streams', values.streams, 1),
      prefixes: num('prefixes', values.prefixes, 1),
      batch: num('batch', values.batch, 1),
      prefix: values.prefix,
      // The harness samples the servers' memory at this line (watchers created, no writes yet).
      ...(values.json ? { onWatchersCreated: () => void process.stderr.write('watchers-created\n') } : {}),
      ...(process.stderr.isTTY && !values.json ? { onProgress: progressBar(num('duration', values.duration, 0.1) * 1000) } : {}),
    };
  } catch (e) {
    process.stderr.write(`kvfleet bench: ${(e as Error).message}\n\n${BENCH_USAGE}`);
    return 2;
  }
  if (prepare && options.workload !== 'load') await prepareKeys(options);
  const result = await runBench(options);
  if (process.stderr.isTTY && !json) process.stderr.write('\n');
  process.stdout.write(json ? `${JSON.stringify(result)}\n` : formatResult(result));
  return result.errors > 0 && result.ops === 0 ? 1 : 0;
}

function progressBar(durationMs: number): (done: number, elapsedMs: number) => void {
  return (done, elapsedMs) => {
    const width = 30;
    const filled = Math.min(width, Math.round((elapsedMs / durationMs) * width));
    process.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done} ops, ${Math.round(done / Math.max(0.001, elapsedMs / 1000))}/s`);
  };
}

function formatResult(r: BenchResult): string {
  const l = r.latencyMs;
  const lines = [
    `workload ${r.workload}: ${r.ops} ops in ${r.seconds.toFixed(2)} s = ${r.throughput.toFixed(0)}/s, ${r.errors} errors`,
    `latency ms: p50 ${l.p50.toFixed(2)}  p90 ${l.p90.toFixed(2)}  p99 ${l.p99.toFixed(2)}  max ${l.max.toFixed(2)}  (${l.count} samples)`,
  ];
  if (r.deliveries !== undefined) lines.push(`deliveries: ${r.deliveries} (${(r.deliveriesPerSecond ?? 0).toFixed(0)}/s), missed ${r.missedDeliveries ?? 0}`);
  for (const [error, count] of Object.entries(r.errorSamples)) lines.push(`  error x${count}: ${error}`);
  return `${lines.join('\n')}\n`;
}
