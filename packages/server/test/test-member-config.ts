/**
 * A member configuration for in-process tests: memory backend, port 0 client URLs, fast
 * elections, silent logs. Tests name what differs.
 */
import { join } from 'node:path';
import type { MemberConfig } from '../src/etcdserver/member-config.js';
import { SILENT } from '../src/logger.js';

export interface TestMemberOptions {
  readonly name: string;
  /** The member's data dir is `<dir>/<dataSubdir ?? name>`. */
  readonly dir: string;
  readonly dataSubdir?: string;
  readonly peerUrl: string;
  /** Default: this member alone. */
  readonly initialCluster?: string;
  readonly token: string;
}

export function testMemberConfig(o: TestMemberOptions, overrides: Partial<MemberConfig> = {}): MemberConfig {
  return {
    name: o.name,
    dataDir: join(o.dir, o.dataSubdir ?? o.name),
    listenClientUrls: ['http://127.0.0.1:0'],
    advertiseClientUrls: ['http://127.0.0.1:0'],
    listenPeerUrls: [o.peerUrl],
    initialAdvertisePeerUrls: [o.peerUrl],
    initialCluster: o.initialCluster ?? `${o.name}=${o.peerUrl}`,
    initialClusterState: 'new',
    initialClusterToken: o.token,
    backend: 'memory',
    snapshotCount: 10_000,
    snapshotCatchUpEntries: 5_000,
    heartbeatIntervalMs: 50,
    electionTimeoutMs: 500,
    maxRequestBytes: 1.5 * 1024 * 1024,
    maxTxnOps: 128,
    quotaBackendBytes: 0,
    logger: SILENT,
    ...overrides,
  };
}
