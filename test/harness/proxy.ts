import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ManagedProcess, repoRoot, type Cluster, type ProcessHandle } from './cluster.js';
import { freePorts } from './ports.js';
import { grpcTarget } from './probe.js';

export interface ProxyOptions {
  count: number;
  /** Proxy `pK` gets `<dataRoot>/pK/` holding its log (`output.log`). */
  dataRoot: string;
  /** Appended to every proxy's command line. */
  extraArgs?: string[];
  /** How long to wait for /readyz 200, on start and on restart. Default 30 s. */
  startTimeoutMs?: number;
  /** How long stop() and SIGTERM kills wait before SIGKILL. Default 5 s. */
  stopGraceMs?: number;
  /** Extra environment for every proxy (e.g. robustness failpoints). */
  env?: Record<string, string>;
}

export interface ProxyHandle extends ProcessHandle {
  /** Stops it (SIGTERM) if running, starts it again on the same port, waits for /readyz 200. */
  restart(): Promise<void>;
  /** Waits for /readyz 200. */
  waitReady(timeoutMs?: number): Promise<void>;
}

export interface ProxyFleet {
  /** One client URL per proxy, in proxy order. */
  readonly clientUrls: string[];
  readonly size: number;
  proxy(index: number): ProxyHandle;
  /** SIGTERM every proxy, SIGKILL after the grace period; resolves when all are gone. Idempotent. */
  stop(): Promise<void>;
  /** Every proxy's log tail, labelled, for failure reports. */
  logs(maxCharsPerProxy?: number): string;
}

/** The executable and leading arguments that start one proxy. */
export function proxyCommand(kvfleetRoot = repoRoot()): string[] {
  return [process.execPath, join(kvfleetRoot, 'cmd', 'bin', 'kvfleet.js'), 'proxy'];
}

/** One GET of `<clientUrl>/readyz`: undefined when it answered 200, else why not. */
export async function readyOnce(clientUrl: string, timeoutMs = 1_000): Promise<string | undefined> {
  try {
    const res = await fetch(new URL('/readyz', clientUrl), { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.text()).trim().slice(0, 200);
    return res.status === 200 ? undefined : `HTTP ${res.status}: ${body}`;
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    return cause ?? (error as Error).message;
  }
}

class ProxyProcess extends ManagedProcess implements ProxyHandle {
  constructor(
    readonly index: number,
    readonly name: string,
    readonly clientUrl: string,
    workDir: string,
    command: readonly string[],
    graceMs: number,
    private readonly startTimeoutMs: number,
    env: Record<string, string>,
  ) {
    super(workDir, join(workDir, 'output.log'), command, graceMs, env);
  }

  async restart(): Promise<void> {
    await this.kill('SIGTERM');
    this.start();
    await this.waitReady();
  }

  async waitReady(timeoutMs = this.startTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'not probed yet';
    for (;;) {
      if (this.unexpectedExit !== undefined) {
        throw new Error(`proxy ${this.name} (${this.clientUrl}) will not be ready: ${this.unexpectedExit} (last probe: ${last})\n${this.log()}`);
      }
      const error = await readyOnce(this.clientUrl);
      if (error === undefined) return;
      last = error;
      if (Date.now() >= deadline) {
        throw new Error(`proxy ${this.name} (${this.clientUrl}) not ready within ${timeoutMs} ms (last probe: ${last})\n${this.log()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Starts `count` proxies (`kvfleet proxy --endpoints <every member> --listen-client-urls ...
 * --advertise-client-urls ...`) in front of `cluster`, each on a free 127.0.0.1 port, and
 * resolves once every one answers GET /readyz with 200 (its cache is synced). On failure all
 * are stopped and the error carries their log tails.
 */
export async function startProxies(cluster: Cluster, options: ProxyOptions): Promise<ProxyFleet> {
  // As for members: a port found free may be taken before the proxy binds it.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startProxiesOnce(cluster, options);
    } catch (error) {
      if (attempt >= 3 || !/address already in use|EADDRINUSE/.test((error as Error).message)) throw error;
      console.warn('[compat] a port was taken while starting the proxies; retrying on new ports');
      await Promise.all(
        Array.from({ length: options.count }, (_, i) => rm(join(options.dataRoot, `p${i + 1}`), { recursive: true, force: true })),
      );
    }
  }
}

async function startProxiesOnce(cluster: Cluster, options: ProxyOptions): Promise<ProxyFleet> {
  const { count, dataRoot } = options;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const graceMs = options.stopGraceMs ?? 5_000;
  const ports = await freePorts(count);
  const endpoints = cluster.clientUrls.map(grpcTarget).join(',');
  const proxies = ports.map((port, i) => {
    const name = `p${i + 1}`;
    const url = `http://127.0.0.1:${port}`;
    const command = [
      ...proxyCommand(cluster.kvfleetRoot),
      '--endpoints', endpoints,
      '--listen-client-urls', url,
      '--advertise-client-urls', url,
      ...(options.extraArgs ?? []),
    ];
    return new ProxyProcess(i, name, url, join(dataRoot, name), command, graceMs, startTimeoutMs, options.env ?? {});
  });

  const fleet: ProxyFleet = {
    clientUrls: proxies.map((p) => p.clientUrl),
    size: count,
    proxy(index) {
      const p = proxies[index];
      if (p === undefined) throw new Error(`no proxy ${index} in a fleet of ${count}`);
      return p;
    },
    async stop() {
      // Proxies hold no consensus state, so all at once is fine.
      await Promise.all(proxies.map((p) => p.kill('SIGTERM')));
    },
    logs(maxCharsPerProxy = 4_000) {
      return proxies
        .map((p) => `----- proxy ${p.name} (${p.clientUrl}, log ${p.logFile})${p.unexpectedExit ? ` [${p.unexpectedExit}]` : ''}\n${p.log(maxCharsPerProxy)}`)
        .join('\n');
    },
  };

  try {
    for (const p of proxies) p.start();
    await Promise.all(proxies.map((p) => p.waitReady()));
  } catch (error) {
    await fleet.stop();
    throw error;
  }
  return fleet;
}

/**
 * Whether `kvfleet proxy` is built (cmd/dist/proxy-command.js exists): suites that need a
 * proxy skip until it lands.
 */
export function proxyAvailable(): boolean {
  return existsSync(join(repoRoot(), 'cmd', 'dist', 'proxy-command.js'));
}
