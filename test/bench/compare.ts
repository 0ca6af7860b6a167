/**
 * `npm run bench`: kvfleet and etcd 3.4 (Debian's etcd-server) on the same machine in the same
 * run, with equivalent settings on loopback, plus a null server that shows the load generator's
 * own ceiling. Each workload runs `kvfleet bench ... --json` as its own process against each
 * system; server CPU per operation comes from /proc of every server process, which does not
 * depend on the client. Writes the results section of bench/RESULTS.md.
 *
 * Options: --seconds N (per workload, default 10), --only put,reads,watch, --check-perf (also
 * `etcdctl check perf --load=s|m` against both; a minute each), --out PATH.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot, startCluster, type Cluster, type ClusterKind } from '../harness/cluster.js';
import { freePort } from '../harness/ports.js';
import { grpcTarget } from '../harness/probe.js';
import { startProxies, type ProxyFleet } from '../harness/proxy.js';
import { peakRssBytes, totalCpuMicros } from './process-stats.js';

interface BenchJson {
  ops: number;
  errors: number;
  throughput: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  deliveries?: number;
  deliveriesPerSecond?: number;
  missedDeliveries?: number;
}

interface Row {
  readonly workload: string;
  readonly system: string;
  readonly result: BenchJson;
  /** Server CPU microseconds per operation (or per delivery for watch). */
  readonly cpuPerOp: number;
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
}

interface Target {
  readonly system: string;
  readonly endpoints: string[];
  readonly pids: () => number[];
}

const KVFLEET = join(repoRoot(), 'cmd', 'bin', 'kvfleet.js');

function run(exe: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

const warmed = new Set<string>();

async function bench(target: Target, workload: string, args: string[], seconds: number): Promise<Row> {
  // A fresh server (and V8's JIT in it) is slow for its first seconds: warm it up unmeasured.
  if (!warmed.has(target.system)) {
    warmed.add(target.system);
    await run(process.execPath, [KVFLEET, 'bench', 'put', '--clients', '50', '--endpoints', target.endpoints.join(','), '--duration', '3', '--json'], 60_000);
  }
  const pids = target.pids();
  const cpuBefore = totalCpuMicros(pids);
  const out = await run(process.execPath, [KVFLEET, 'bench', ...args, '--endpoints', target.endpoints.join(','), '--duration', String(seconds), '--json'], (seconds + 120) * 1000);
  const cpuAfter = totalCpuMicros(pids);
  if (out.code !== 0) throw new Error(`kvfleet bench ${args.join(' ')} against ${target.system} failed: ${out.stderr}`);
  const result = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as BenchJson;
  const units = result.deliveries ?? result.ops;
  const cpu = cpuAfter - cpuBefore;
  const peak = Math.max(0, ...pids.map((p) => { try { return peakRssBytes(p); } catch { return 0; } }));
  const row = { workload, system: target.system, result, cpuPerOp: units > 0 ? cpu / units : 0, cpuSeconds: cpu / 1e6, peakRssMiB: peak / 2 ** 20 };
  process.stdout.write(`${workload} / ${target.system}: ${result.throughput.toFixed(0)}/s, p99 ${result.latencyMs.p99.toFixed(1)} ms, ${row.cpuPerOp.toFixed(0)} µs server CPU per ${result.deliveries === undefined ? 'op' : 'delivery'}, ${result.errors} errors\n`);
  return row;
}

async function withNullServer<T>(fn: (t: Target) => Promise<T>): Promise<T> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(repoRoot(), 'test', 'dist', 'bench', 'null-server.js'), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => (b.toString().includes('listening') ? resolve() : undefined));
    child.on('exit', () => reject(new Error('the null server exited')));
  });
  try {
    return await fn({ system: 'null server (ceiling)', endpoints: [`127.0.0.1:${String(port)}`], pids: () => [child.pid!] });
  } finally {
    child.kill('SIGKILL');
  }
}

async function withCluster<T>(kind: ClusterKind, proxy: boolean, fn: (members: Target, proxy: Target | undefined) => Promise<T>): Promise<T> {
  const dataRoot = await mkdtemp(join(tmpdir(), `kvfleet-bench-${kind}-`));
  let cluster: Cluster | undefined;
  let proxies: ProxyFleet | undefined;
  try {
    cluster = await startCluster({ kind, size: 3, dataRoot });
    if (proxy) proxies = await startProxies(cluster, { count: 1, dataRoot });
    const c = cluster;
    const members: Target = { system: `${kind} (3 members)`, endpoints: c.clientUrls.map(grpcTarget), pids: () => Array.from({ length: c.size }, (_, i) => c.member(i).pid ?? 0) };
    const p = proxies;
    const proxyTarget = p === undefined ? undefined : { system: `${kind} + 1 kvfleet proxy`, endpoints: p.clientUrls.map(grpcTarget), pids: () => [p.proxy(0).pid ?? 0, ...members.pids()] };
    return await fn(members, proxyTarget);
  } finally {
    await proxies?.stop();
    await cluster?.stop();
    await rm(dataRoot, { recursive: true, force: true });
  }
}

async function checkPerf(kind: ClusterKind, load: string): Promise<string> {
  return withCluster(kind, false, async (members) => {
    const out = await run('etcdctl', ['--endpoints', members.endpoints.join(','), 'check', 'perf', `--load=${load}`], 180_000);
    const verdict = /PASS|FAIL/.exec(out.stdout + out.stderr)?.[0] ?? 'no verdict';
    const lines = (out.stdout + out.stderr).split('\n').filter((l) => /PASS|FAIL|Slowest|Stddev|Throughput/.test(l)).map((l) => l.trim());
    return `${verdict} (${lines.join('; ')})`;
  });
}

function table(rows: readonly Row[], workload: string, reference = 'etcd (3 members)'): string {
  const subset = rows.filter((r) => r.workload === workload);
  const ref = subset.find((r) => r.system.startsWith(reference));
  const ceiling = subset.find((r) => r.system.startsWith('null'));
  const perDelivery = subset.some((r) => r.result.deliveries !== undefined);
  const lines = [
    `| system | ${perDelivery ? 'deliveries/s' : 'ops/s'} | vs etcd | vs ceiling | p50 ms | p99 ms | server CPU µs per ${perDelivery ? 'delivery' : 'op'} | CPU vs etcd | server CPU s | peak RSS MiB | errors |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const rate = (r: Row) => (perDelivery ? (r.result.deliveriesPerSecond ?? 0) : r.result.throughput);
  for (const r of subset) {
    const vs = ref === undefined || r === ref ? '' : `${(rate(r) / rate(ref)).toFixed(2)}×`;
    const vc = ceiling === undefined || r === ceiling ? '' : `${(rate(r) / rate(ceiling)).toFixed(2)}×`;
    const cpuVs = ref === undefined || r === ref || ref.cpuPerOp === 0 ? '' : `${(r.cpuPerOp / ref.cpuPerOp).toFixed(2)}×`;
    lines.push(
      `| ${r.system} | ${rate(r).toFixed(0)} | ${vs} | ${vc} | ${r.result.latencyMs.p50.toFixed(1)} | ${r.result.latencyMs.p99.toFixed(1)} | ${r.cpuPerOp.toFixed(0)} | ${cpuVs} | ${r.cpuSeconds.toFixed(1)} | ${r.peakRssMiB.toFixed(0)} | ${r.result.errors}${r.result.missedDeliveries ? `, ${r.result.missedDeliveries} missed` : ''} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '10' }, only: { type: 'string', default: 'put,reads,watch' }, 'check-perf': { type: 'boolean', default: false }, out: { type: 'string' } },
  });
  const seconds = Number(values.seconds);
  const only = new Set(values.only.split(','));
  const rows: Row[] = [];
  const putArgs = (clients: number) => ['put', '--clients', String(clients), '--conns', String(Math.min(clients, 100)), '--val-size', '1024', '--key-space', '100000'];
  const readArgs = (serializable: boolean, limit: number) => ['range', '--clients', '100', '--conns', '20', '--key-space', '1000', '--limit', String(limit), '--prepare', ...(serializable ? ['--serializable'] : [])];
  const readVariants = [
    { name: 'range 1 key, serializable', args: readArgs(true, 1) },
    { name: 'range 1 key, linearizable', args: readArgs(false, 1) },
    { name: 'range 100-key page, serializable', args: readArgs(true, 100) },
  ];
  const watchArgs = ['watch', '--watchers', '100', '--streams', '10', '--rate', '500', '--val-size', '64'];
  const clientCounts = [1, 50, 200, 500];

  if (only.has('put') || only.has('reads')) {
    await withNullServer(async (t) => {
      if (only.has('put')) for (const c of clientCounts) rows.push(await bench(t, `put, 1 KiB, ${c} clients`, putArgs(c), seconds));
      if (only.has('reads')) for (const v of readVariants) rows.push(await bench(t, v.name, v.args, seconds));
    });
  }
  for (const kind of ['etcd', 'kvfleet'] as const) {
    await withCluster(kind, only.has('reads'), async (members, proxy) => {
      if (only.has('put')) for (const c of clientCounts) rows.push(await bench(members, `put, 1 KiB, ${c} clients`, putArgs(c), seconds));
      if (only.has('reads')) {
        for (const v of readVariants) {
          rows.push(await bench(members, v.name, v.args, seconds));
          if (proxy !== undefined) rows.push(await bench(proxy, v.name, v.args, seconds));
        }
      }
      if (only.has('watch')) rows.push(await bench(members, 'watch: 100 watchers over 10 streams, 500 puts/s of 64 B', watchArgs, seconds));
    });
  }
  const perf: string[] = [];
  if (values['check-perf']) {
    for (const kind of ['etcd', 'kvfleet'] as const) for (const load of ['s', 'm']) perf.push(`- ${kind}, \`--load=${load}\`: ${await checkPerf(kind, load)}`);
  }

  const workloads = [...new Set(rows.map((r) => r.workload))];
  const section = [
    BEGIN,
    '## kvfleet vs etcd 3.4, side by side (issue 7)',
    '',
    `Command: \`npm run bench -- --seconds ${values.seconds} --only ${values.only}${values['check-perf'] ? ' --check-perf' : ''}\``,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; measured ${new Date().toISOString().slice(0, 16)} UTC.`,
    '',
    'Load from `kvfleet bench` (its own process, sharing the 2 cores with the servers). Ratios are',
    'against etcd in the same run; "vs ceiling" against the null server with the same client.',
    'Server CPU per operation sums every server process (members, and the proxy when used).',
    '',
    ...workloads.flatMap((w) => [`### ${w}`, '', table(rows, w), '']),
    ...(perf.length > 0 ? ['### etcdctl check perf', '', ...perf, ''] : []),
    END,
  ].join('\n');
  const path = values.out ?? join(repoRoot(), 'bench', 'RESULTS.md');
  const current = await readFile(path, 'utf8').catch(() => '# Benchmark results\n');
  const start = current.indexOf(BEGIN);
  const stop = current.indexOf(END);
  const next = start >= 0 && stop > start ? `${current.slice(0, start)}${section}${current.slice(stop + END.length)}` : `${current.trimEnd()}\n\n${section}\n`;
  await writeFile(path, next);
  process.stdout.write(`results written to ${path}\n`);
}

const BEGIN = '<!-- kvfleet-vs-etcd:begin (written by npm run bench) -->';
const END = '<!-- kvfleet-vs-etcd:end -->';

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
