/** Everything a member is started with (the `kvfleet server` flags, parsed). */
import type { BackendKind } from '../backend/backend.js';
import type { Logger } from '../logger.js';

export interface MemberConfig {
  readonly name: string;
  readonly dataDir: string;
  readonly listenClientUrls: readonly string[];
  readonly advertiseClientUrls: readonly string[];
  /** `--listen-metrics-urls`: extra HTTP listeners for /metrics and the health endpoints. */
  readonly listenMetricsUrls?: readonly string[];
  readonly listenPeerUrls: readonly string[];
  readonly initialAdvertisePeerUrls: readonly string[];
  /** `--initial-cluster` as given; ignored when the data dir already holds a member. */
  readonly initialCluster: string;
  readonly initialClusterState: 'new' | 'existing';
  readonly initialClusterToken: string;
  readonly backend: BackendKind;
  /** Applied entries between snapshots. */
  readonly snapshotCount: number;
  /** Log entries kept in memory behind a snapshot, so a slightly lagging follower gets entries, not a snapshot. */
  readonly snapshotCatchUpEntries: number;
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly maxRequestBytes: number;
  readonly maxTxnOps: number;
  /** 0 means the default (2 GiB, as etcd). */
  readonly quotaBackendBytes: number;
  readonly logger: Logger;
  /** Deliberately wrong behaviours, only for proving that the simulator's checkers catch them; no flag sets them. */
  readonly testingBugs?: MemberTestingBugs;
}

export interface MemberTestingBugs {
  /** etcd v3.5's data-inconsistency bug: an entry's writes and its consistent index commit in separate backend transactions. */
  readonly consistentIndexApart?: boolean;
  /** Entries are written to the WAL without an fsync: acknowledged to the leader (and counted for commit) before they are durable. */
  readonly unsyncedWal?: boolean;
  /** This member applies a lease revocation without revoking anything. */
  readonly skipLeaseRevoke?: boolean;
  /** A watcher behind a compaction goes on from the oldest history left instead of being canceled. */
  readonly skipCompactedWatchEvents?: boolean;
}
