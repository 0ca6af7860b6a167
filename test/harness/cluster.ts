import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './ports.js';
import { cleanEnv, terminate, track } from './processes.js';
import { waitUntilServing } from './probe.js';

export type ClusterKind = 'etcd' | 'kvfleet';

export interface ClusterOptions {
  kind: ClusterKind;
  size: 1 | 3;
  /** Each member gets `<dataRoot>/<name>/` holding its data dir (`data/`) and its log (`output.log`). */
  dataRoot: string;
  /** Appended to every member's command line. */
  extraArgs?: string[];
  /** --initial-cluster-token; default a random one. */
  token?: string;
  /** How long to wait for every member to answer, on start and on restart. Default 30 s. */
  startTimeoutMs?: number;
  /** How long stop() and SIGTERM kills wait before SIGKILL. Default 5 s. */
  stopGraceMs?: number;
  /** Extra environment for every member (e.g. robustness failpoints). */
  env?: Record<string, string>;
  /**
   * Puts something (a fault proxy) in front of each member's peer port: given the member's index
   * and its listen peer URL, returns the peer URL the cluster should advertise for it.
   */
  peerFront?: (index: number, listenPeerUrl: string) => Promise<string>;
  /** A built kvfleet checkout whose `cmd/bin/kvfleet.js` the members run; default this one (the bench's --baseline). */
  kvfleetRoot?: string;
}

/** A server process the harness started (a member or a proxy) and can signal and read. */
export interface ProcessHandle {
  readonly index: number;
  readonly name: string;
  readonly clientUrl: string;
  readonly logFile: string;
  /** The process id of the current incarnation, if running. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** The full command line (executable first); a restart reuses it exactly. */
  readonly command: readonly string[];
  /**
   * Sends the signal and resolves once the process has exited. SIGTERM falls back to SIGKILL
   * after the grace period. A no-op if it is not running.
   */
  kill(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** The process's output so far (the last `maxChars` characters). */
  log(maxChars?: number): string;
}

export interface MemberHandle extends ProcessHandle {
  readonly peerUrl: string;
  readonly dataDir: string;
}

export interface Cluster {
  readonly kind: ClusterKind;
  /** The kvfleet checkout its members run (ClusterOptions.kvfleetRoot); proxies started on it run the same. */
  readonly kvfleetRoot?: string;
  readonly size: number;
  /** One client URL per member, in member order. */
  readonly clientUrls: string[];
  member(index: number): MemberHandle;
  /** Starts member `index` again with the same command line and data dir (stopping it first with SIGTERM if it runs), and waits until it answers. */
  restart(index: number): Promise<void>;
  /** Starts member `index` (not running) again with its command line and data dir; does not wait (it may never serve, e.g. a removed member). */
  start(index: number): void;
  /**
   * Replaces member `index` by a new process on the same ports and data dir path with another
   * command line (a member re-added after a removal): the old one is killed if it still runs,
   * the data dir emptied, the new one started. Does not wait (a learner may not answer yet).
   */
  swap(index: number, command: readonly string[]): Promise<void>;
  /** Waits until member `index` (or every running member) answers a linearizable Range. */
  waitHealthy(index?: number, timeoutMs?: number): Promise<void>;
  /** SIGTERM each member in turn, SIGKILL after the grace period; resolves when all are gone. Idempotent. */
  stop(): Promise<void>;
  /** Every member's log tail, labelled, for failure reports. */
  logs(maxCharsPerMember?: number): string;
}

/** The repository root (this file is test/harness/cluster.ts, or its compiled copy under test/dist/harness). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'cmd', 'bin', 'kvfleet.js'))) return dir;
    dir = dirname(dir);
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** The executable and leading arguments that start one member of `kind`. */
export function serverCommand(kind: ClusterKind, kvfleetRoot = repoRoot()): string[] {
  if (kind === 'etcd') return [process.env.KVFLEET_ETCD_BIN ?? 'etcd'];
  return [process.execPath, join(kvfleetRoot, 'cmd', 'bin', 'kvfleet.js'), 'server'];
}

/**
 * One long-running child process of the harness (a member, a proxy): started from a fixed
 * command line, its stdout and stderr appended to `logFile` with a header per start, tracked
 * so it dies with the worker, and remembering whether it exited without being asked to.
 */
export class ManagedProcess {
  child: ChildProcess | undefined;
  /** Why the current incarnation ended, when it ended without being asked to. */
  unexpectedExit: string | undefined;
  stopping = false;

  constructor(
    /** Created (recursively) before each start; the log file's directory is created too. */
    readonly workDir: string,
    readonly logFile: string,
    readonly command: readonly string[],
    private readonly graceMs: number,
    private readonly env: Record<string, string> = {},
  ) {}

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) throw new Error(`${this.command.join(' ')} is already running`);
    mkdirSync(this.workDir, { recursive: true });
    mkdirSync(dirname(this.logFile), { recursive: true });
    const fd = openSync(this.logFile, 'a');
    writeSync(fd, `\n=== ${new Date().toISOString()} starting: ${this.command.join(' ')}\n`);
    this.unexpectedExit = undefined;
    this.stopping = false;
    try {
      const [executable, ...args] = this.command;
      const child = spawn(executable!, args, { stdio: ['ignore', fd, fd], env: cleanEnv(this.env) });
      track(child);
      child.once('error', (error) => {
        this.unexpectedExit = `could not start: ${error.message}`;
      });
      child.once('exit', (code, signal) => {
        if (!this.stopping) this.unexpectedExit = `exited on its own with ${code ?? signal}`;
      });
      this.child = child;
    } finally {
      closeSync(fd);
    }
  }

  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    if (this.child === undefined || !this.running) return;
    this.stopping = true;
    await terminate(this.child, signal, this.graceMs);
  }

  log(maxChars = 4_000): string {
    try {
      const text = readFileSync(this.logFile, 'utf8');
      return text.length > maxChars ? `...${text.slice(-maxChars)}` : text;
    } catch {
      return '(no log)';
    }
  }
}

class Member extends ManagedProcess implements MemberHandle {
  constructor(
    readonly index: number,
    readonly name: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
    readonly dataDir: string,
    logFile: string,
    command: readonly string[],
    graceMs: number,
    env: Record<string, string>,
  ) {
    super(dataDir, logFile, command, graceMs, env);
  }
}

/**
 * Starts a cluster of `size` members of `kind` on free 127.0.0.1 ports, each launched with
 * etcd's own flags (--name, --data-dir, --listen-client-urls, --advertise-client-urls,
 * --listen-peer-urls, --initial-advertise-peer-urls, --initial-cluster,
 * --initial-cluster-state new, --initial-cluster-token) so kvfleet runs exactly where etcd
 * ran. Resolves once every member answers a linearizable Range; on failure every member is
 * stopped and the error carries their log tails.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  // A port found free can be taken by another process before the member binds it (parallel
  // test workers): then start again on fresh ports, from empty data dirs.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(options);
    } catch (error) {
      if (attempt >= 3 || !/address already in use|EADDRINUSE/.test((error as Error).message)) throw error;
      console.warn(`[compat] a port was taken while starting the ${options.kind} cluster; retrying on new ports`);
      await Promise.all(
        Array.from({ length: options.size }, (_, i) => rm(join(options.dataRoot, `n${i + 1}`), { recursive: true, force: true })),
      );
    }
  }
}

async function startClusterOnce(options: ClusterOptions): Promise<Cluster> {
  const { kind, size, dataRoot } = options;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const graceMs = options.stopGraceMs ?? 5_000;
  const token = options.token ?? `kvfleet-compat-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const ports = await freePorts(size * 2);
  const names = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  const clientUrls = names.map((_, i) => `http://127.0.0.1:${ports[2 * i]}`);
  const listenPeerUrls = names.map((_, i) => `http://127.0.0.1:${ports[2 * i + 1]}`);
  const peerFront = options.peerFront;
  const peerUrls = peerFront === undefined ? listenPeerUrls : await Promise.all(listenPeerUrls.map((url, i) => peerFront(i, url)));
  const initialCluster = names.map((name, i) => `${name}=${peerUrls[i]}`).join(',');
  const base = serverCommand(kind, options.kvfleetRoot);

  const members = names.map((name, i) => {
    const memberDir = join(dataRoot, name);
    const dataDir = join(memberDir, 'data');
    const command = [
      ...base,
      '--name', name,
      '--data-dir', dataDir,
      '--listen-client-urls', clientUrls[i]!,
      '--advertise-client-urls', clientUrls[i]!,
      '--listen-peer-urls', listenPeerUrls[i]!,
      '--initial-advertise-peer-urls', peerUrls[i]!,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', token,
      ...(options.extraArgs ?? []),
    ];
    return new Member(i, name, clientUrls[i]!, peerUrls[i]!, dataDir, join(memberDir, 'output.log'), command, graceMs, options.env ?? {});
  });

  const cluster: Cluster = {
    kind,
    kvfleetRoot: options.kvfleetRoot,
    size,
    clientUrls,
    member(index) {
      const m = members[index];
      if (m === undefined) throw new Error(`no member ${index} in a cluster of ${size}`);
      return m;
    },
    async restart(index) {
      const m = members[index];
      if (m === undefined) throw new Error(`no member ${index} in a cluster of ${size}`);
      await m.kill('SIGTERM');
      m.start();
      await cluster.waitHealthy(index);
    },
    start(index) {
      const m = members[index];
      if (m === undefined) throw new Error(`no member ${index} in a cluster of ${size}`);
      m.start();
    },
    async swap(index, command) {
      const old = members[index];
      if (old === undefined) throw new Error(`no member ${index} in a cluster of ${size}`);
      await old.kill('SIGKILL');
      await rm(old.dataDir, { recursive: true, force: true });
      const next = new Member(index, old.name, old.clientUrl, old.peerUrl, old.dataDir, old.logFile, command, graceMs, options.env ?? {});
      members[index] = next;
      next.start();
    },
    async waitHealthy(index, timeoutMs = startTimeoutMs) {
      const targets = index === undefined ? members.filter((m) => m.running || m.unexpectedExit !== undefined) : [members[index]!];
      try {
        await Promise.all(targets.map((m) => waitUntilServing(m.clientUrl, timeoutMs, () => m.unexpectedExit)));
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${cluster.logs()}`);
      }
    },
    async stop() {
      // One at a time: a leader given SIGTERM hands leadership to a live follower first, which
      // is quick while the others still run; SIGTERM to all at once leaves etcd's leader
      // waiting out its transfer timeout (about 5 s on a 3-member cluster).
      for (const m of members) await m.kill('SIGTERM');
    },
    logs(maxCharsPerMember = 4_000) {
      return members
        .map((m) => `----- ${kind} member ${m.name} (${m.clientUrl}, log ${m.logFile})${m.unexpectedExit ? ` [${m.unexpectedExit}]` : ''}\n${m.log(maxCharsPerMember)}`)
        .join('\n');
    },
  };

  try {
    for (const m of members) m.start();
    await cluster.waitHealthy();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
