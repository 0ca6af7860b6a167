/**
 * `kvfleet up` (what `npm start` runs): a local hybrid cluster in one terminal: Raft members
 * named like etcd's Procfile (infra1..3; client ports 2379, 12379, 22379; data under ./data)
 * and read proxies in front of them (proxy1..2; client ports 2479, 2579). Logs are shown as
 * readable lines; Ctrl-C stops every process cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { formatLogLine } from './log-format.js';

export const UP_USAGE = `Usage: kvfleet up [--data-dir ./data] [--members 3] [--proxies 2] [--base-port 2379] [--port-step 10000]

Starts a local cluster: member i (1..N) is infra<i>, serving clients on base-port + (i-1)*port-step
and peers on the next port, with its data in <data-dir>/infra<i>; proxy j (1..P) is proxy<j>,
serving clients on base-port + 100*j in front of every member. Restarting with the same data dir
resumes the cluster. Ctrl-C stops every process cleanly.
`;

interface UpOptions {
  readonly dataDir: string;
  readonly members: number;
  readonly proxies: number;
  readonly basePort: number;
  readonly portStep: number;
}

interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
}

/** How long members get to stop on Ctrl-C before they are killed. */
const STOP_GRACE_MS = 10_000;

export async function upCommand(argv: string[], bin: string): Promise<number> {
  let options: UpOptions | 'help';
  try {
    options = parseUpArgs(argv);
  } catch (e) {
    process.stderr.write(`kvfleet up: ${(e as Error).message}\n\n${UP_USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(UP_USAGE);
    return 0;
  }
  const members = layout(options);
  const proxies = proxyLayout(options);
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const endpoints = members.map((m) => new URL(m.clientUrl).host).join(',');
  const children = [
    ...members.map((m) => startMember(bin, m, initialCluster)),
    ...proxies.map((p) => startProxy(bin, p, endpoints)),
  ];
  const names = [...members.map((m) => m.name), ...proxies.map((p) => p.name)];
  const exited = children.map((c) => new Promise<number>((res) => c.once('exit', (code) => res(code ?? 1))));

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping the cluster...\n');
    for (const c of children) c.kill('SIGTERM');
    setTimeout(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')), STOP_GRACE_MS).unref();
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.on(s, stop);
  // A member that dies on its own takes the cluster down with it: a half cluster misleads.
  exited.forEach((p, i) =>
    void p.then((code) => {
      if (!stopping) {
        process.stderr.write(`${names[i]!} exited with code ${String(code)}; stopping the others\n`);
        stop();
      }
    }),
  );
  printBanner(members, proxies);
  const codes = await Promise.all(exited);
  for (const s of signals) process.off(s, stop);
  process.stdout.write('cluster stopped\n');
  return codes.every((c) => c === 0) ? 0 : 1;
}

function parseUpArgs(argv: string[]): UpOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string', default: 'data' },
      members: { type: 'string', default: '3' },
      proxies: { type: 'string', default: '2' },
      'base-port': { type: 'string', default: '2379' },
      'port-step': { type: 'string', default: '10000' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) return 'help';
  const int = (name: string, raw: string, min: number, max: number): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) throw new Error(`--${name}: "${raw}" must be an integer in [${String(min)}, ${String(max)}]`);
    return n;
  };
  const members = int('members', values.members, 1, 7);
  const basePort = int('base-port', values['base-port'], 1, 65534);
  const proxies = int('proxies', values.proxies, 0, 9);
  const portStep = int('port-step', values['port-step'], 2, 20000);
  if (basePort + (members - 1) * portStep + 1 > 65535) throw new Error('ports run past 65535: lower --base-port or --port-step');
  if (proxies > 0 && portStep <= 100 * proxies + 1) throw new Error(`--port-step must exceed ${String(100 * proxies + 1)} to leave room for the proxies' ports`);
  return { dataDir: resolve(values['data-dir']), members, proxies, basePort, portStep };
}

function layout(o: UpOptions): Member[] {
  return Array.from({ length: o.members }, (_, i) => {
    const client = o.basePort + i * o.portStep;
    return {
      name: `infra${String(i + 1)}`,
      clientUrl: `http://127.0.0.1:${String(client)}`,
      peerUrl: `http://127.0.0.1:${String(client + 1)}`,
      dataDir: resolve(o.dataDir, `infra${String(i + 1)}`),
    };
  });
}

interface Proxy {
  readonly name: string;
  readonly clientUrl: string;
}

function proxyLayout(o: UpOptions): Proxy[] {
  return Array.from({ length: o.proxies }, (_, i) => ({
    name: `proxy${String(i + 1)}`,
    clientUrl: `http://127.0.0.1:${String(o.basePort + 100 * (i + 1))}`,
  }));
}

function startProxy(bin: string, p: Proxy, endpoints: string): ChildProcess {
  return spawnLogged(p.name, [
    bin,
    'proxy',
    `--endpoints=${endpoints}`,
    `--listen-client-urls=${p.clientUrl}`,
    `--advertise-client-urls=${p.clientUrl}`,
  ]);
}

function startMember(bin: string, m: Member, initialCluster: string): ChildProcess {
  mkdirSync(m.dataDir, { recursive: true });
  return spawnLogged(m.name, [
      bin,
      'server',
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=${m.clientUrl}`,
      `--advertise-client-urls=${m.clientUrl}`,
      `--listen-peer-urls=${m.peerUrl}`,
      `--initial-advertise-peer-urls=${m.peerUrl}`,
      `--initial-cluster=${initialCluster}`,
      '--initial-cluster-token=kvfleet-local',
      '--initial-cluster-state=new',
  ]);
}

function spawnLogged(name: string, args: string[]): ChildProcess {
  // Same process group: Ctrl-C or a closed terminal reaches the children too, and each stops
  // itself cleanly even if this process is gone.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const color = process.stdout.isTTY === true;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => process.stdout.write(`${formatLogLine(name, line, color)}\n`));
  }
  return child;
}

function printBanner(members: readonly Member[], proxies: readonly Proxy[]): void {
  const endpoints = members.map((m) => new URL(m.clientUrl).host).join(',');
  const proxyEndpoints = proxies.map((p) => new URL(p.clientUrl).host).join(',');
  process.stdout.write(
    [
      `kvfleet: starting ${String(members.length)} members and ${String(proxies.length)} proxies`,
      ...members.map((m) => `  ${m.name}  clients ${m.clientUrl}  peers ${m.peerUrl}  data ${m.dataDir}`),
      ...proxies.map((p) => `  ${p.name}  clients ${p.clientUrl}  (reads and watches from its cache; writes forwarded)`),
      '',
      'try:',
      `  ETCDCTL_API=3 etcdctl --endpoints=${endpoints} put hello world`,
      `  ETCDCTL_API=3 etcdctl --endpoints=${proxyEndpoints === '' ? endpoints : proxyEndpoints} get hello`,
      '',
      'Ctrl-C stops the cluster; run again to resume it from the same data.',
      '',
    ].join('\n') + '\n',
  );
}
