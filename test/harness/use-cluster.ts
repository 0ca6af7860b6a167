import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startCluster, type Cluster, type ClusterKind } from './cluster.js';

export interface UseClusterOptions {
  kind: ClusterKind;
  size: 1 | 3;
  extraArgs?: string[];
  /** beforeAll's own timeout. Default 60 s. */
  startTimeoutMs?: number;
}

/**
 * Registers, in the calling describe block, a cluster started in beforeAll (in a fresh
 * temporary data root) and stopped in afterAll. Returns a getter for it. When a test fails,
 * every member's log tail is printed once and the data root is kept for inspection
 * (its path is printed); otherwise it is removed.
 */
export function useCluster(options: UseClusterOptions): () => Cluster {
  let cluster: Cluster | undefined;
  let dataRoot: string | undefined;
  let failed = false;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;

  beforeAll(async () => {
    dataRoot = await mkdtemp(join(tmpdir(), `kvfleet-compat-${options.kind}-`));
    try {
      cluster = await startCluster({
        kind: options.kind,
        size: options.size,
        dataRoot,
        extraArgs: options.extraArgs,
        startTimeoutMs: startTimeoutMs - 5_000,
      });
    } catch (error) {
      failed = true;
      throw new Error(`could not start a ${options.size}-member ${options.kind} cluster in ${dataRoot}: ${(error as Error).message}`);
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
