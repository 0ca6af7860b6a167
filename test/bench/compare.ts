/**
 * `npm run bench`: kvfleet and etcd 3.4 (Debian's etcd-server) on the same machine in the same
 * run, with equivalent settings on loopback, plus a null server that shows the load generator's
 * own ceiling. Each workload runs `kvfleet bench ... --json` as its own process against each
 * system; server CPU per operation comes from /proc of every server process, which does not
 * depend on the client. Writes the results section of bench/RESULTS.md and bench/results.svg.
 *
 * Options: --seconds N (per workload, default 10), --only put,reads,watch,coldstart,scale,
 * --check-perf (also `etcdctl check perf --load=s|m` against both; a minute each), --out PATH,
 * --baseline REV (an earlier commit's kvfleet too, for the put, reads and watch workloads),
 * --rounds N (with --baseline: both kvfleet builds N times, alternating which goes first, each
 * figure the median of its rounds; etcd and the null server run once).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { repoRoot, startCluster, type Cluster, type ClusterKind } from '../harness/cluster.js';
import { freePort } from '../harness/ports.js';
import { grpcTarget } from '../harness/probe.js';
import { startProxies, type ProxyFleet } from '../harness/proxy.js';
import { INSTALL_HINTS, whichBinary } from '../harness/requirements.js';
import { prepareBaseline } from './baseline.js';
import { baselineTable, medians } from './baseline-table.js';
import type { BenchJson, Row } from './bench-row.js';
import { ratioChartSvg, type ChartBar } from './chart.js';
import { diskUsageBytes } from './disk-usage.js';
import { peakRssBytes, readBytes, rssBytes, sumOverProcesses, totalCpuMicros } from './process-stats.js';

interface Target {
  readonly system: string;
  readonly endpoints: string[];
  readonly pids: () => number[];
  /** A proxy's client URL, for its /metrics. */
  readonly proxyUrl?: string;
}

/** What a cluster runs: etcd, this checkout's kvfleet, or an earlier commit's (--baseline). */
interface System {
  readonly kind: ClusterKind;
  /** Names its rows: `etcd`, `kvfleet`, `kvfleet@ba35ea8`. */
  readonly label: string;
  readonly kvfleetRoot?: string;
}

const systemOf = (kind: ClusterKind): System => ({ kind, label: kind });

interface ClusterContext {
  readonly cluster: Cluster;
  readonly dataRoot: string;
}

const KVFLEET = join(repoRoot(), 'cmd', 'bin', 'kvfleet.js');

function run(
  exe: string,
  args: string[],
  timeoutMs: number,
  onStderrLine?: (line: string) => void,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      partial += b.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) onStderrLine?.(line);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** Sums the named counters of a Prometheus text exposition. */
async function proxyCounters(proxyUrl: string, names: readonly string[]): Promise<number> {
  const text = await (await fetch(new URL('/metrics', proxyUrl))).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const name = line.split(/[ {]/, 1)[0]!;
    if (names.includes(name)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const UPSTREAM_READ_COUNTERS = ['kvfleet_proxy_upstream_revision_checks_total', 'kvfleet_proxy_range_forwarded_total'];
/** Targets already warmed up: each cluster once, however many rounds start one of the same system. */
const warmed = new WeakSet<Target>();

function sumRss(pids: readonly number[]): number {
  return sumOverProcesses(pids, rssBytes);
}

async function bench(target: Target, workload: string, args: string[], seconds: number): Promise<Row> {
  // A fresh server (and V8's JIT in it) is slow for its first seconds: warm it up unmeasured.
  if (!warmed.has(target)) {
    warmed.add(target);
    await run(process.execPath, [KVFLEET, 'bench', 'put', '--clients', '50', '--prefix', 'warmup/', '--endpoints', target.endpoints.join(','), '--duration', '3', '--json'], 60_000);
  }
  const pids = target.pids();
  const watchers = args[0] === 'watch' ? Number(args[args.indexOf('--watchers') + 1]) : 0;
  const rssBefore = sumRss(pids);
  let rssCreated = rssBefore;
  const upstreamBefore = target.proxyUrl === undefined ? 0 : await proxyCounters(target.proxyUrl, UPSTREAM_READ_COUNTERS);
  const cpuBefore = totalCpuMicros(pids);
  const out = await run(
    process.execPath,
    [KVFLEET, 'bench', ...args, '--endpoints', target.endpoints.join(','), '--duration', String(seconds), '--json'],
    (seconds + 600) * 1000,
    (line) => (line === 'watchers-created' ? (rssCreated = sumRss(pids)) : undefined),
  );
  const cpuAfter = totalCpuMicros(pids);
  if (out.code !== 0) throw new Error(`kvfleet bench ${args.join(' ')} against ${target.system} failed: ${out.stderr}`);
  const result = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as BenchJson;
  const units = result.deliveries ?? result.ops;
  const cpu = cpuAfter - cpuBefore;
  const peak = sumOverProcesses(pids, peakRssBytes);
  const upstream = target.proxyUrl === undefined ? undefined : (await proxyCounters(target.proxyUrl, UPSTREAM_READ_COUNTERS)) - upstreamBefore;
  const row: Row = {
    workload,
    system: target.system,
    result,
    cpuPerOp: units > 0 ? cpu / units : 0,
    cpuSeconds: cpu / 1e6,
    peakRssMiB: peak / 2 ** 20,
    ...(watchers > 0 ? { bytesPerWatcher: (rssCreated - rssBefore) / watchers } : {}),
    ...(upstream !== undefined && args[0] === 'range' ? { upstreamPer1000: (upstream * 1000) / Math.max(1, result.ops) } : {}),
  };
  const errors = Object.entries(result.errorSamples ?? {}).map(([e, n]) => `${n}× ${e}`).join('; ');
  process.stdout.write(
    `${workload} / ${target.system}: ${result.throughput.toFixed(0)}/s${result.deliveries === undefined ? '' : `, ${(result.deliveriesPerSecond ?? 0).toFixed(0)} deliveries/s, ${result.missedDeliveries ?? 0} missed`}, p99 ${result.latencyMs.p99.toFixed(1)} ms, ${row.cpuPerOp.toFixed(0)} µs server CPU per ${result.deliveries === undefined ? 'op' : 'delivery'}${row.bytesPerWatcher === undefined ? '' : `, ${row.bytesPerWatcher.toFixed(0)} B per watcher`}${row.upstreamPer1000 === undefined ? '' : `, ${row.upstreamPer1000.toFixed(1)} upstream per 1,000`}, ${result.errors} errors${errors ? ` (${errors})` : ''}\n`,
  );
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

function proxyTarget(label: string, fleet: ProxyFleet, members: Target): Target {
  return { system: `${label} + 1 kvfleet proxy`, endpoints: fleet.clientUrls.map(grpcTarget), pids: () => [fleet.proxy(0).pid ?? 0, ...members.pids()], proxyUrl: fleet.clientUrls[0]! };
}

async function withCluster<T>(system: System | ClusterKind, proxy: boolean, fn: (members: Target, proxy: Target | undefined, context: ClusterContext) => Promise<T>): Promise<T> {
  const { kind, label, kvfleetRoot } = typeof system === 'string' ? systemOf(system) : system;
  const dataRoot = await mkdtemp(join(tmpdir(), `kvfleet-bench-${kind}-`));
  let cluster: Cluster | undefined;
  let proxies: ProxyFleet | undefined;
  try {
    cluster = await startCluster({ kind, size: 3, dataRoot, kvfleetRoot });
    if (proxy) proxies = await startProxies(cluster, { count: 1, dataRoot });
    const c = cluster;
    const members: Target = { system: `${label} (3 members)`, endpoints: c.clientUrls.map(grpcTarget), pids: () => Array.from({ length: c.size }, (_, i) => c.member(i).pid ?? 0) };
    return await fn(members, proxies === undefined ? undefined : proxyTarget(label, proxies, members), { cluster: c, dataRoot });
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

interface ColdStart {
  readonly system: string;
  readonly keys: number;
  readonly loadKeysPerSecond: number;
  readonly emptyReadyMs: number;
  readonly readyMs: number;
  readonly bytesRead: number;
  readonly keyspaceBytes: number;
  readonly proxyRssMiB: number;
}

/** One proxy started in front of `cluster`: milliseconds from spawn to /readyz 200, bytes it read by then, its RSS. */
async function timedProxyStart(cluster: Cluster, dataRoot: string): Promise<{ readyMs: number; bytesRead: number; rss: number }> {
  const t0 = performance.now();
  const fleet = await startProxies(cluster, { count: 1, dataRoot, startTimeoutMs: 600_000 });
  const readyMs = performance.now() - t0;
  const pid = fleet.proxy(0).pid ?? 0;
  const measured = { readyMs, bytesRead: readBytes(pid), rss: rssBytes(pid) };
  await fleet.stop();
  return measured;
}

/** Proxy cold start: time to /readyz over `keys` keys of 1 KiB, against a proxy started on an empty keyspace. */
async function coldStart(kind: ClusterKind, keys: number): Promise<ColdStart> {
  return withCluster(kind, false, async (members, _proxy, { cluster, dataRoot }) => {
    const empty = await timedProxyStart(cluster, join(dataRoot, 'empty-proxy'));
    const load = await run(process.execPath, [KVFLEET, 'bench', 'load', '--key-space', String(keys), '--val-size', '1024', '--prefix', 'cold/', '--endpoints', members.endpoints.join(','), '--json'], 1_800_000);
    if (load.code !== 0) throw new Error(`loading ${keys} keys into ${kind} failed: ${load.stderr}`);
    const loaded = JSON.parse(load.stdout.trim().split('\n').at(-1)!) as BenchJson;
    const full = await timedProxyStart(cluster, join(dataRoot, 'full-proxy'));
    const row: ColdStart = {
      system: `${kind} + 1 kvfleet proxy`,
      keys,
      loadKeysPerSecond: loaded.throughput,
      emptyReadyMs: empty.readyMs,
      readyMs: full.readyMs,
      bytesRead: full.bytesRead - empty.bytesRead,
      keyspaceBytes: keys * (1024 + 32),
      proxyRssMiB: full.rss / 2 ** 20,
    };
    process.stdout.write(`cold start / ${row.system}: ready in ${(row.readyMs / 1000).toFixed(2)} s (empty: ${(row.emptyReadyMs / 1000).toFixed(2)} s), ${(row.bytesRead / 2 ** 20).toFixed(1)} MiB read\n`);
    return row;
  });
}

interface Scale {
  readonly system: string;
  readonly keys: number;
  readonly loadKeysPerSecond: number;
  readonly dataDirMiBPerMember: number;
  readonly memberRssMiB: number;
}

const SCALE_KEYS = 1_000_000;

/** 1M keys of 256 B: bulk load, then puts and reads over the whole key space, and the data dir's size. */
async function scale(kind: ClusterKind, seconds: number, rows: Row[]): Promise<Scale> {
  return withCluster(kind, false, async (members, _proxy, { cluster }) => {
    const common = ['--key-space', String(SCALE_KEYS), '--val-size', '256', '--prefix', 'scale/'];
    const load = await bench(members, `scale: load ${SCALE_KEYS.toLocaleString('en')} keys of 256 B, txns of 100 puts`, ['load', ...common, '--clients', '16'], seconds);
    rows.push(load);
    rows.push(await bench(members, 'scale: put 256 B over 1M keys, 200 clients', ['put', ...common, '--clients', '200', '--conns', '100'], seconds));
    rows.push(await bench(members, 'scale: range 1 key of 1M, serializable, 100 clients', ['range', ...common, '--no-prepare', '--clients', '100', '--conns', '20', '--serializable'], seconds));
    rows.push(await bench(members, 'scale: range 1 key of 1M, linearizable, 100 clients', ['range', ...common, '--no-prepare', '--clients', '100', '--conns', '20'], seconds));
    let disk = 0;
    for (let i = 0; i < cluster.size; i++) disk += await diskUsageBytes(cluster.member(i).dataDir);
    const result: Scale = {
      system: members.system,
      keys: SCALE_KEYS,
      loadKeysPerSecond: load.result.throughput,
      dataDirMiBPerMember: disk / cluster.size / 2 ** 20,
      memberRssMiB: sumRss(members.pids()) / cluster.size / 2 ** 20,
    };
    process.stdout.write(`scale / ${result.system}: ${result.dataDirMiBPerMember.toFixed(0)} MiB data dir and ${result.memberRssMiB.toFixed(0)} MiB RSS per member\n`);
    return result;
  });
}

const REFERENCE = 'etcd (3 members)';

/** Every figure of the runs merged into bench/RESULTS.md, kept in bench/results.json. */
interface Saved {
  runs: { run: number; command: string; at: string; commit: string }[];
  rows: (Row & { run: number })[];
  coldStarts: (ColdStart & { run: number })[];
  scales: (Scale & { run: number })[];
  perf: { line: string; run: number }[];
}

async function loadSaved(path: string): Promise<Saved> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Saved;
  } catch {
    return { runs: [], rows: [], coldStarts: [], scales: [], perf: [] };
  }
}

function gitHead(): string {
  const out = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot(), encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot(), encoding: 'utf8' }).stdout.trim() !== '';
  return `${out.stdout.trim() || 'unknown'}${dirty ? ' (with uncommitted changes)' : ''}`;
}

function table(rows: readonly Row[], workload: string): string {
  const subset = rows.filter((r) => r.workload === workload);
  const ref = subset.find((r) => r.system === REFERENCE);
  const ceiling = subset.find((r) => r.system.startsWith('null'));
  const perDelivery = subset.some((r) => r.result.deliveries !== undefined);
  const watcherMemory = subset.some((r) => r.bytesPerWatcher !== undefined);
  const upstream = subset.some((r) => r.upstreamPer1000 !== undefined);
  const lines = [
    `| system | ${perDelivery ? 'deliveries/s' : 'ops/s'} | vs etcd | vs ceiling | p50 ms | p99 ms | server CPU µs per ${perDelivery ? 'delivery' : 'op'} | CPU vs etcd | server CPU s | peak RSS MiB |${watcherMemory ? ' RSS per watcher B |' : ''}${upstream ? ' upstream per 1,000 reads |' : ''} errors |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|${watcherMemory ? '---:|' : ''}${upstream ? '---:|' : ''}---:|`,
  ];
  const rate = (r: Row) => (perDelivery ? (r.result.deliveriesPerSecond ?? 0) : r.result.throughput);
  for (const r of subset) {
    const vs = ref === undefined || r === ref ? '' : `${(rate(r) / rate(ref)).toFixed(2)}×`;
    const vc = ceiling === undefined || r === ceiling ? '' : `${(rate(r) / rate(ceiling)).toFixed(2)}×`;
    const cpuVs = ref === undefined || r === ref || ref.cpuPerOp === 0 ? '' : `${(r.cpuPerOp / ref.cpuPerOp).toFixed(2)}×`;
    const memory = watcherMemory ? ` ${r.bytesPerWatcher === undefined ? '' : r.bytesPerWatcher.toFixed(0)} |` : '';
    const up = upstream ? ` ${r.upstreamPer1000 === undefined ? '' : r.upstreamPer1000.toFixed(1)} |` : '';
    lines.push(
      `| ${r.system} | ${rate(r).toFixed(0)} | ${vs} | ${vc} | ${r.result.latencyMs.p50.toFixed(1)} | ${r.result.latencyMs.p99.toFixed(1)} | ${r.cpuPerOp.toFixed(0)} | ${cpuVs} | ${r.cpuSeconds.toFixed(1)} | ${r.peakRssMiB.toFixed(0)} |${memory}${up} ${r.result.errors}${r.result.missedDeliveries ? `, ${r.result.missedDeliveries} missed` : ''} |`,
    );
  }
  return lines.join('\n');
}

function chartBars(rows: readonly Row[]): ChartBar[] {
  const bars: ChartBar[] = [];
  for (const r of rows) {
    const ref = rows.find((x) => x.workload === r.workload && x.system === REFERENCE);
    if (ref === undefined) continue;
    const rate = (x: Row) => x.result.deliveriesPerSecond ?? x.result.throughput;
    bars.push({ workload: r.workload, system: r.system, throughputRatio: rate(r) / rate(ref), p99Ratio: r.result.latencyMs.p99 / ref.result.latencyMs.p99 });
  }
  return bars;
}

/** etcd and etcdctl from Debian: installed when missing and we are root, else a clear error. */
function ensureEtcd(): void {
  const absent = (['etcd', 'etcdctl'] as const).filter((b) => whichBinary(process.env.KVFLEET_ETCD_BIN !== undefined && b === 'etcd' ? process.env.KVFLEET_ETCD_BIN : b) === undefined);
  if (absent.length === 0) return;
  const hint = absent.map((b) => INSTALL_HINTS[b]).join(' && ');
  if (process.getuid?.() !== 0) throw new Error(`the benchmark compares with etcd 3.4, which is not installed: ${hint}`);
  process.stdout.write(`installing etcd 3.4 from Debian (${hint})\n`);
  const apt = spawnSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server etcd-client`], { stdio: 'inherit' });
  if (apt.status !== 0 || absent.some((b) => whichBinary(b) === undefined)) throw new Error(`could not install etcd: ${hint}`);
}

async function main(): Promise<void> {
  ensureEtcd();
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      only: { type: 'string', default: 'put,reads,watch,coldstart,scale' },
      'check-perf': { type: 'boolean', default: false },
      merge: { type: 'boolean', default: false },
      out: { type: 'string' },
      baseline: { type: 'string' },
      rounds: { type: 'string', default: '1' },
    },
  });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, not ${values.rounds}`);
  if (rounds > 1 && values.baseline === undefined) throw new Error('--rounds compares two kvfleet builds: give --baseline REV too');
  const systems: System[] = [systemOf('etcd'), systemOf('kvfleet')];
  let baselineCommit: string | undefined;
  if (values.baseline !== undefined) {
    const { root, commit } = prepareBaseline(values.baseline);
    baselineCommit = commit;
    systems.push({ kind: 'kvfleet', label: `kvfleet@${commit}`, kvfleetRoot: root });
  }
  const seconds = Number(values.seconds);
  const only = new Set(values.only.split(','));
  const rows: Row[] = [];
  const putArgs = (clients: number) => ['put', '--clients', String(clients), '--conns', String(Math.min(clients, 100)), '--val-size', '1024', '--key-space', '100000'];
  // Their own prefix: a page of 100 must not range over the 100,000 keys the puts wrote (etcd counts them all).
  const readArgs = (serializable: boolean, limit: number) => ['range', '--clients', '100', '--conns', '20', '--key-space', '1000', '--limit', String(limit), '--prefix', 'reads/', '--prepare', ...(serializable ? ['--serializable'] : [])];
  const readVariants = [
    { name: 'range 1 key, serializable', args: readArgs(true, 1) },
    { name: 'range 1 key, linearizable', args: readArgs(false, 1) },
    { name: 'range 100-key page, serializable', args: readArgs(true, 100) },
    { name: 'range 100-key page, linearizable', args: readArgs(false, 100) },
  ];
  const watchVariants = [
    { name: 'watch (a) informers: 100 watchers over 10 streams on 1 prefix, 500 puts/s of 64 B', args: ['watch', '--watchers', '100', '--streams', '10', '--rate', '500', '--val-size', '64', '--prefix', 'informers/'] },
    {
      name: 'watch (b) many keys: 10,000 watchers over 100 streams on 1,000 prefixes, 500 puts/s of 64 B',
      args: ['watch', '--watchers', '10000', '--streams', '100', '--conns', '20', '--prefixes', '1000', '--rate', '500', '--val-size', '64', '--prefix', 'many/'],
    },
  ];
  const clientCounts = [1, 50, 200, 500];

  if (only.has('put') || only.has('reads')) {
    await withNullServer(async (t) => {
      if (only.has('put')) for (const c of clientCounts) rows.push(await bench(t, `put, 1 KiB, ${c} clients`, putArgs(c), seconds));
      if (only.has('reads')) for (const v of readVariants) rows.push(await bench(t, v.name, v.args, seconds));
    });
  }
  const roundRows: Row[] = [];
  for (let round = 1; round <= rounds; round++) {
    // etcd once; the two kvfleet builds every round, ABBA, so a drift of the machine during the
    // run weighs on both alike.
    const kvfleets = systems.filter((x) => x.kind === 'kvfleet');
    const order = [...(round === 1 ? systems.filter((x) => x.kind !== 'kvfleet') : []), ...(round % 2 === 1 ? kvfleets : [...kvfleets].reverse())];
    for (const system of order) {
      if (!['put', 'reads', 'watch'].some((w) => only.has(w))) break;
      const into = rounds > 1 && system.kind === 'kvfleet' ? roundRows : rows;
      const add = (row: Row) => into.push(into === roundRows ? { ...row, round } : row);
      await withCluster(system, only.has('reads') || only.has('watch'), async (members, proxy) => {
        if (only.has('put')) for (const c of clientCounts) add(await bench(members, `put, 1 KiB, ${c} clients`, putArgs(c), seconds));
        if (only.has('reads')) {
          for (const v of readVariants) {
            add(await bench(members, v.name, v.args, seconds));
            if (proxy !== undefined) add(await bench(proxy, v.name, v.args, seconds));
          }
        }
        if (only.has('watch')) {
          for (const v of watchVariants) {
            add(await bench(members, v.name, v.args, seconds));
            if (proxy !== undefined) add(await bench(proxy, v.name, v.args, seconds));
          }
        }
      });
    }
  }
  rows.push(...medians(roundRows));
  const coldStarts: ColdStart[] = [];
  if (only.has('coldstart')) for (const kind of ['etcd', 'kvfleet'] as const) coldStarts.push(await coldStart(kind, 100_000));
  const scales: Scale[] = [];
  if (only.has('scale')) for (const kind of ['etcd', 'kvfleet'] as const) scales.push(await scale(kind, seconds, rows));
  const perf: string[] = [];
  if (values['check-perf']) {
    for (const kind of ['etcd', 'kvfleet'] as const) for (const load of ['s', 'm']) perf.push(`- ${kind}, \`--load=${load}\`: ${await checkPerf(kind, load)}`);
  }

  const path = values.out ?? join(repoRoot(), 'bench', 'RESULTS.md');
  const chartPath = join(dirname(path), 'results.svg');
  const jsonPath = join(dirname(path), 'results.json');
  const command = `npm run bench -- --seconds ${values.seconds} --only ${values.only}${values['check-perf'] ? ' --check-perf' : ''}${values.merge ? ' --merge' : ''}${values.baseline === undefined ? '' : ` --baseline ${values.baseline}`}${rounds > 1 ? ` --rounds ${rounds}` : ''}`;
  // --merge keeps the previous runs' figures for what this run did not measure.
  const saved: Saved = values.merge ? await loadSaved(jsonPath) : { runs: [], rows: [], coldStarts: [], scales: [], perf: [] };
  const run = saved.runs.length + 1;
  saved.runs.push({ run, command, at: `${new Date().toISOString().slice(0, 16)} UTC`, commit: gitHead() });
  const measured = new Set(rows.map((r) => r.workload));
  saved.rows = [...saved.rows.filter((r) => !measured.has(r.workload)), ...rows.map((r) => ({ ...r, run }))];
  if (coldStarts.length > 0) saved.coldStarts = coldStarts.map((c) => ({ ...c, run }));
  if (scales.length > 0) saved.scales = scales.map((c) => ({ ...c, run }));
  if (perf.length > 0) saved.perf = perf.map((line) => ({ line, run }));
  const order = [...clientCounts.map((c) => `put, 1 KiB, ${c} clients`), ...readVariants.map((v) => v.name), ...watchVariants.map((v) => v.name)];
  const rank = (w: string) => (order.includes(w) ? order.indexOf(w) : order.length);
  const allRows = [...saved.rows].sort((a, b) => rank(a.workload) - rank(b.workload));
  const workloads = [...new Set(allRows.map((r) => r.workload))];
  const runOf = (w: string) => allRows.find((r) => r.workload === w)?.run;
  const section = [
    BEGIN,
    '## kvfleet vs etcd 3.4, side by side (issue 7)',
    '',
    ...saved.runs.filter((r) => [...saved.rows, ...saved.coldStarts, ...saved.scales, ...saved.perf].some((x) => x.run === r.run)).map((r) => `- run ${r.run}: \`${r.command}\` at commit ${r.commit}, ${r.at}`),
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
    '',
    'Load from `kvfleet bench` (its own process, sharing the 2 cores with the servers). Ratios are',
    'against etcd in the same run; "vs ceiling" against the null server with the same client.',
    'Server CPU per operation sums every server process (members, and the proxy when used).',
    '',
    ...(workloads.length > 0 ? ['![throughput and p99 as ratios of etcd\'s](results.svg)', ''] : []),
    ...workloads.flatMap((w) => [`### ${w} (run ${runOf(w) ?? '?'})`, '', table(allRows, w), '']),
    ...(saved.coldStarts.length > 0
      ? [
          `### Proxy cold start: 100,000 keys of 1 KiB (run ${saved.coldStarts[0]!.run})`,
          '',
          'Time from spawning `kvfleet proxy` to `/readyz` answering 200, and the bytes the proxy read',
          'by then beyond what a proxy over an empty keyspace reads (rchar of /proc/<pid>/io).',
          '',
          '| upstream | bulk load keys/s | ready (empty keyspace) s | ready (100,000 keys) s | MiB read | keyspace MiB | proxy RSS MiB |',
          '|---|---:|---:|---:|---:|---:|---:|',
          ...saved.coldStarts.map((c) => `| ${c.system} | ${c.loadKeysPerSecond.toFixed(0)} | ${(c.emptyReadyMs / 1000).toFixed(2)} | ${(c.readyMs / 1000).toFixed(2)} | ${(c.bytesRead / 2 ** 20).toFixed(1)} | ${(c.keyspaceBytes / 2 ** 20).toFixed(1)} | ${c.proxyRssMiB.toFixed(0)} |`),
          '',
        ]
      : []),
    ...(saved.scales.length > 0
      ? [
          `### Scale: 1,000,000 keys of 256 B, on disk and in memory (run ${saved.scales[0]!.run})`,
          '',
          '| system | bulk load keys/s | data dir per member MiB | RSS per member MiB |',
          '|---|---:|---:|---:|',
          ...saved.scales.map((s) => `| ${s.system} | ${s.loadKeysPerSecond.toFixed(0)} | ${s.dataDirMiBPerMember.toFixed(0)} | ${s.memberRssMiB.toFixed(0)} |`),
          '',
        ]
      : []),
    ...(saved.perf.length > 0 ? [`### etcdctl check perf (run ${saved.perf[0]!.run})`, '', ...saved.perf.map((p) => p.line), ''] : []),
    ...(baselineCommit !== undefined
      ? [
          `### This commit against ${baselineCommit} (run ${run})`,
          '',
          rounds > 1
            ? `Both builds in run ${run}, ${rounds} rounds each, alternating which goes first (ABBA), with the same load generator; each figure is the median of its rounds, and each round's own ratio is listed.`
            : `Both builds in run ${run}, one after the other, with the same load generator.`,
          '',
          baselineTable(rows, baselineCommit, roundRows),
          '',
        ]
      : []),
    END,
  ].join('\n');
  await writeFile(jsonPath, `${JSON.stringify(saved, null, 1)}\n`);
  const current = await readFile(path, 'utf8').catch(() => '# Benchmark results\n');
  const start = current.indexOf(BEGIN);
  const stop = current.indexOf(END);
  const next = start >= 0 && stop > start ? `${current.slice(0, start)}${section}${current.slice(stop + END.length)}` : `${current.trimEnd()}\n\n${section}\n`;
  await writeFile(path, next);
  if (workloads.length > 0) await writeFile(chartPath, ratioChartSvg(chartBars(allRows), 'kvfleet vs etcd 3.4, same machine, same run (bench/RESULTS.md)'));
  process.stdout.write(`results written to ${path} and ${chartPath}\n`);
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
