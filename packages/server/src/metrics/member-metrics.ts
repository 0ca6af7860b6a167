/**
 * A member's Prometheus metrics under etcd's names, types, labels and buckets (checked against
 * etcd 3.4.23's etcdserver/, wal/, mvcc/, rafthttp/ and membership/ metrics), so dashboards and
 * alerts written for etcd read a kvfleet member unchanged.
 *
 * Each member has its own registry (several members may share a test process); process metrics
 * (prom-client's defaults) are per process, so they live in one shared registry that
 * {@link MemberMetrics.text} appends.
 *
 * Counters that events drive (leader changes, failed proposals, fsync and commit durations)
 * are updated by small hooks in the member; values the member already knows (leader, indexes,
 * sizes, keys) are read when scraped, through {@link MetricsSource}.
 */
import type { Clock, Timer } from '../env/clock.js';
import { REAL_CLOCK } from '../env/real-env.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';
import type { Backend, WriteTxn } from '../backend/backend.js';
import type { SyncHook } from '../wal/sync.js';

/** What scrapes read from the member. */
export interface MetricsSource {
  readonly memberId: number;
  readonly leaderId: number;
  readonly isLeader: boolean;
  readonly committedIndex: number;
  readonly appliedIndex: number;
  readonly backendSizes: { size: number; inUse: number };
  /** Live keys at the current revision. */
  keysTotal(): number;
  /** Ids of the other members. */
  peerIds(): number[];
  /** The last measured round-trip time to a peer, in milliseconds. */
  peerRttMs(peerId: number): number | undefined;
  readonly quotaBackendBytes: number;
}

/** etcd samples each peer's RTT every statusMonitoringInterval (rafthttp/probing_status.go). */
export const PEER_RTT_SAMPLE_INTERVAL_MS = 30_000;

/** The server and cluster version kvfleet reports (the API it speaks). */
export interface VersionInfo {
  readonly server: string;
  /** major.minor, as etcd's cluster_version label. */
  readonly cluster: string;
}

let processRegistry: Registry | undefined;

/** prom-client's process and Node.js metrics, collected once per process. */
function sharedProcessRegistry(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class MemberMetrics {
  readonly registry = new Registry();
  private source: MetricsSource | undefined;
  private rttTimer: Timer | undefined;
  /** Peers with at least one RTT observation (the first is taken at a scrape, not 30 s later). */
  private readonly rttSeen = new Set<number>();
  private lastLeader = 0;

  readonly leaderChanges: Counter;
  readonly proposalsPending: Gauge;
  readonly proposalsFailed: Counter;
  readonly healthSuccess: Counter;
  readonly healthFailures: Counter;
  readonly walFsync: Histogram;
  readonly backendCommit: Histogram;
  readonly peerRtt: Histogram<'To'>;
  /** Range and read-only Txn requests answered: the status page's read rate (not a Prometheus series). */
  readsServed = 0;

  /**
   * `version` sets etcd_server_version and etcd_cluster_version (left out without it); `clock`
   * times fsyncs and commits and samples peer RTTs.
   */
  constructor(
    version?: VersionInfo,
    private readonly clock: Clock = REAL_CLOCK,
  ) {
    const registers = [this.registry];
    const read = <T>(fn: (s: MetricsSource) => T, fallback: T): T => (this.source === undefined ? fallback : fn(this.source));

    new Gauge({
      name: 'etcd_server_has_leader',
      help: 'Whether or not a leader exists. 1 is existence, 0 is not.',
      registers,
      collect() {
        this.set(read((s) => (s.leaderId !== 0 ? 1 : 0), 0));
      },
    });
    new Gauge({
      name: 'etcd_server_is_leader',
      help: 'Whether or not this member is a leader. 1 if is, 0 otherwise.',
      registers,
      collect() {
        this.set(read((s) => (s.isLeader ? 1 : 0), 0));
      },
    });
    this.leaderChanges = new Counter({
      name: 'etcd_server_leader_changes_seen_total',
      help: 'The number of leader changes seen.',
      registers,
    });
    // etcd declares these two as gauges set to the committed and applied Raft indexes.
    new Gauge({
      name: 'etcd_server_proposals_committed_total',
      help: 'The total number of consensus proposals committed.',
      registers,
      collect() {
        this.set(read((s) => s.committedIndex, 0));
      },
    });
    new Gauge({
      name: 'etcd_server_proposals_applied_total',
      help: 'The total number of consensus proposals applied.',
      registers,
      collect() {
        this.set(read((s) => s.appliedIndex, 0));
      },
    });
    this.proposalsPending = new Gauge({
      name: 'etcd_server_proposals_pending',
      help: 'The current number of pending proposals to commit.',
      registers,
    });
    this.proposalsFailed = new Counter({
      name: 'etcd_server_proposals_failed_total',
      help: 'The total number of failed proposals seen.',
      registers,
    });
    this.healthSuccess = new Counter({
      name: 'etcd_server_health_success',
      help: 'The total number of successful health checks',
      registers,
    });
    this.healthFailures = new Counter({
      name: 'etcd_server_health_failures',
      help: 'The total number of failed health checks',
      registers,
    });
    new Gauge({
      name: 'etcd_server_quota_backend_bytes',
      help: 'Current backend storage quota size in bytes.',
      registers,
      collect() {
        this.set(read((s) => s.quotaBackendBytes, 0));
      },
    });
    const serverId = new Gauge({
      name: 'etcd_server_id',
      help: "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
      labelNames: ['server_id'],
      registers,
      collect() {
        const id = read((s) => s.memberId, undefined);
        if (id !== undefined) serverId.set({ server_id: id.toString(16) }, 1);
      },
    });
    if (version !== undefined) {
      new Gauge({
        name: 'etcd_server_version',
        help: "Which version is running. 1 for 'server_version' label with current version.",
        labelNames: ['server_version'],
        registers,
      }).set({ server_version: version.server }, 1);
      new Gauge({
        name: 'etcd_cluster_version',
        help: "Which version is running. 1 for 'cluster_version' label with current cluster version",
        labelNames: ['cluster_version'],
        registers,
      }).set({ cluster_version: version.cluster }, 1);
    }

    // 1 ms to 8.192 s, factor 2: etcd's wal and backend buckets.
    this.walFsync = new Histogram({
      name: 'etcd_disk_wal_fsync_duration_seconds',
      help: 'The latency distributions of fsync called by WAL.',
      buckets: exponentialBuckets(0.001, 2, 14),
      registers,
    });
    this.backendCommit = new Histogram({
      name: 'etcd_disk_backend_commit_duration_seconds',
      help: 'The latency distributions of commit called by backend.',
      buckets: exponentialBuckets(0.001, 2, 14),
      registers,
    });

    const sizes = (): { size: number; inUse: number } => read((s) => s.backendSizes, { size: 0, inUse: 0 });
    new Gauge({
      name: 'etcd_mvcc_db_total_size_in_bytes',
      help: 'Total size of the underlying database physically allocated in bytes.',
      registers,
      collect() {
        this.set(sizes().size);
      },
    });
    // etcd 3.4 still exports the debugging copy (removed in 3.5); kept for 3.4 dashboards.
    new Gauge({
      name: 'etcd_debugging_mvcc_db_total_size_in_bytes',
      help: 'Total size of the underlying database physically allocated in bytes.',
      registers,
      collect() {
        this.set(sizes().size);
      },
    });
    new Gauge({
      name: 'etcd_mvcc_db_total_size_in_use_in_bytes',
      help: 'Total size of the underlying database logically in use in bytes.',
      registers,
      collect() {
        this.set(sizes().inUse);
      },
    });
    new Gauge({
      name: 'etcd_debugging_mvcc_keys_total',
      help: 'Total number of keys.',
      registers,
      collect() {
        this.set(read((s) => s.keysTotal(), 0));
      },
    });

    // 0.1 ms to 3.2768 s, factor 2, labelled by the peer's hex id: etcd's rafthttp histogram.
    this.peerRtt = new Histogram({
      name: 'etcd_network_peer_round_trip_time_seconds',
      help: 'Round-Trip-Time histogram between peers',
      labelNames: ['To'],
      buckets: exponentialBuckets(0.0001, 2, 16),
      registers,
    });
  }

  /** Starts reading scrape-time values from the member and sampling peer RTTs. */
  bind(source: MetricsSource): void {
    this.source = source;
    if (this.rttTimer === undefined) {
      this.rttTimer = this.clock.setInterval(() => this.samplePeerRtts(false), PEER_RTT_SAMPLE_INTERVAL_MS, { unref: true });
    }
  }

  /** Stops the RTT sampler; scrapes keep answering with the last values. */
  close(): void {
    this.rttTimer?.cancel();
    this.rttTimer = undefined;
  }

  /** Called with every soft state (leader 0 = none): counts changes to a new leader, as etcd. */
  onLeader(next: number): void {
    if (next !== 0 && next !== this.lastLeader) this.leaderChanges.inc();
    this.lastLeader = next;
  }

  /** Wraps the WAL's sync so every fdatasync of a segment is timed (directory fsyncs are not, as in etcd). */
  timedWalSync(inner: SyncHook): SyncHook {
    return async (target) => {
      if (target.kind !== 'segment') return inner(target);
      const started = this.clock.monotonic();
      await inner(target);
      this.walFsync.observe((this.clock.monotonic() - started) / 1000);
    };
  }

  /**
   * Times every batch of `backend` (commit and its fsync) without changing the backend's code:
   * its `batch` method is wrapped on the instance, so the KV store, lessor and alarms that hold
   * it are all covered.
   */
  timeBackendCommits(backend: Backend): void {
    const batch = backend.batch.bind(backend);
    backend.batch = <T>(fn: (txn: WriteTxn) => T): Promise<T> => {
      const started = this.clock.monotonic();
      const done = batch(fn);
      done.then(
        () => this.backendCommit.observe((this.clock.monotonic() - started) / 1000),
        () => undefined,
      );
      return done;
    };
  }

  /** The exposition text: this member's metrics, then the process's. */
  async text(): Promise<string> {
    this.samplePeerRtts(true);
    const own = await this.registry.metrics();
    const proc = await sharedProcessRegistry().metrics();
    return own + proc;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private samplePeerRtts(firstOnly: boolean): void {
    const s = this.source;
    if (s === undefined) return;
    for (const id of s.peerIds()) {
      if (firstOnly && this.rttSeen.has(id)) continue;
      const ms = s.peerRttMs(id);
      if (ms === undefined) continue;
      this.rttSeen.add(id);
      this.peerRtt.observe({ To: id.toString(16) }, ms / 1000);
    }
  }
}
