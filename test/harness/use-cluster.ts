import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startCluster, type Cluster, type ClusterKind } from './cluster.js';
import { startProxies, type ProxyFleet } from './proxy.js';

export interface UseClusterOptions {
  kind: ClusterKind;
  size: 1 | 3;
  extraArgs?: string[];
  /** beforeAll's own timeout. Default 60 s. */
  startTimeoutMs?: number;
  /**
   * Put one kvfleet proxy in front of the members (a compat target's `proxy`): then the
   * cluster's `clientUrls` are the proxy's, and `memberClientUrls` the members'.
   */
  proxy?: boolean;
}

/** The cluster a suite gets from useCluster: a Cluster, plus the proxy in front when asked for. */
export interface UsedCluster extends Cluster {
  /** The members' client URLs (equal to clientUrls without a proxy). */
  readonly memberClientUrls: string[];
  /** The proxy in front, when the suite asked for one. */
  readonly proxies: ProxyFleet | undefined;
}

/** `cluster` seen through `fleet`: clients go to the proxies; members, restarts and logs stay reachable. */
function throughProxies(cluster: Cluster, fleet: ProxyFleet | undefined): UsedCluster {
  // Without a proxy the suite gets the cluster object itself, only annotated.
  if (fleet === undefined) return Object.assign(cluster, { memberClientUrls: cluster.clientUrls, proxies: undefined });
  return {
    kind: cluster.kind,
    size: cluster.size,
    clientUrls: fleet.clientUrls,
    memberClientUrls: cluster.clientUrls,
    proxies: fleet,
    member: (index) => cluster.member(index),
    restart: (index) => cluster.restart(index),
    start: (index) => cluster.start(index),
    swap: (index, command) => cluster.swap(index, command),
    waitHealthy: (index, timeoutMs) => cluster.waitHealthy(index, timeoutMs),
    async stop() {
      await fleet.stop();
      await cluster.stop();
    },
    logs: (maxChars) => `${fleet.logs(maxChars)}\n${cluster.logs(maxChars)}`,
  };
}

/**
 * Registers, in the calling describe block, a cluster started in beforeAll (in a fresh
 * temporary data root) and stopped in afterAll. Returns a getter for it. When a test fails,
 * every member's log tail is printed once and the data root is kept for inspection
 * (its path is printed); otherwise it is removed.
 */
export function useCluster(options: UseClusterOptions): () => UsedCluster {
  let cluster: UsedCluster | undefined;
  let dataRoot: string | undefined;
  let failed = false;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;

  beforeAll(async () => {
    const what = `${options.kind}${options.proxy === true ? '+proxy' : ''}`;
    dataRoot = await mkdtemp(join(tmpdir(), `kvfleet-compat-${what}-`));
    let members: Cluster | undefined;
    try {
      members = await startCluster({
        kind: options.kind,
        size: options.size,
        dataRoot,
        extraArgs: options.extraArgs,
        startTimeoutMs: (startTimeoutMs - 5_000) / (options.proxy === true ? 2 : 1),
      });
      // extraArgs are member flags; the proxy gets none.
      const fleet = options.proxy === true ? await startProxies(members, { count: 1, dataRoot, startTimeoutMs: (startTimeoutMs - 5_000) / 2 }) : undefined;
      cluster = throughProxies(members, fleet);
    } catch (error) {
      failed = true;
      await members?.stop();
      throw new Error(`could not start a ${options.size}-member ${what} cluster in ${dataRoot}: ${(error as Error).message}`);
    }
  }, startTimeoutMs);

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      if (failed || cluster === undefined) return;
      failed = true;
      console.error(`[compat] a test failed; member logs follow (data kept in ${dataRoot})\n${cluster.logs()}`);
    });
  });

  afterAll(async () => {
    await cluster?.stop();
    if (!failed && dataRoot !== undefined) await rm(dataRoot, { recursive: true, force: true });
  }, 30_000);

  return () => {
    if (cluster === undefined) throw new Error('the cluster is not running (did beforeAll fail?)');
    return cluster;
  };
}
