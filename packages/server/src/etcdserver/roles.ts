/**
 * The member as its consumers see it: small roles, as etcd's `RaftKV`, `Lessor` and
 * `RaftStatusGetter` interfaces are. The gRPC services, the concurrency recipes and the HTTP
 * endpoints each take the roles they use; `EtcdServer` plays all of them, and only the
 * assembly (`embed/`) needs the whole class.
 */
import type { ProposalKind, ProposalOf, ProposalResult } from '../apply/requests.js';
import type { Backend } from '../backend/backend.js';
import type { Lessor } from '../lease/lessor.js';
import type { AlarmStore } from '../maintenance/alarm-store.js';
import type { MemberInfo } from '../member/cluster-config.js';
import type { MemberMetrics } from '../metrics/member-metrics.js';
import type { KvStore } from '../mvcc/kv-store.js';
import type { WatchHub } from '@kvfleet/core';
import type { MemberEnv } from '../env/member-env.js';
import type { ApplyOutcome } from './applier.js';
import type { MemberConfig } from './member-config.js';
import type { MembershipService } from './membership-service.js';

export interface ResponseHeaderFields {
  readonly clusterId: number;
  readonly memberId: number;
  readonly revision: number;
  readonly raftTerm: number;
}

/** Stamps answers with etcd's response header (at `revision`, default the current one). */
export interface HeaderSource {
  header(revision?: number): ResponseHeaderFields;
}

/** Raft's view of this member (etcd's RaftStatusGetter). */
export interface RaftStatusGetter {
  readonly memberId: number;
  readonly leaderId: number;
  readonly isLeader: boolean;
  /** Serves serializable reads and status only, as etcd's learners do. */
  readonly isLearner: boolean;
  readonly raftTerm: number;
  readonly raftIndex: number;
  readonly appliedIndex: number;
  readonly committedIndex: number;
}

/** Writes through Raft, and the ReadIndex barrier linearizable reads wait on. */
export interface Proposer {
  propose<K extends ProposalKind>(body: ProposalOf<K>): Promise<ApplyOutcome<ProposalResult<K>>>;
  /** Resolves when local state reflects every write acknowledged before the call. */
  linearizableBarrier(): Promise<void>;
  /** etcd's request timeout: 5 s plus two election timeouts. */
  readonly requestTimeoutMs: number;
}

/** The applied state reads are served from; a snapshot load replaces it, then the listeners run. */
export interface AppliedStateReader {
  readonly kv: KvStore;
  readonly hub: WatchHub;
  readonly lessor: Lessor;
  onStateReplaced(listener: () => void): () => void;
}

/** What only the leader serves is forwarded to it. */
export interface LeaderRouter {
  /** Waits until a leader is known; fails with ErrGRPCNoLeader. */
  waitForLeader(timeoutMs?: number): Promise<void>;
  /** The leader's peer URLs, if a leader is known. */
  leaderPeerUrls(): readonly string[] | undefined;
}

/** The member's configuration: limits, logger, URLs. */
export interface MemberSettings {
  readonly config: MemberConfig;
}

/** Lease keep-alives, which the leader's lessor answers. */
export interface LeaseRenewer {
  /** Renews a lease and returns its TTL; on a follower the caller forwards to the leader. */
  renewLease(id: number): number;
}

/** The cluster's members and changes to them. */
export interface MembershipHost {
  memberList(): MemberInfo[];
  readonly membership: MembershipService;
}

/** What the Maintenance service and health checks read beyond Raft's status. */
export interface MaintenanceHost {
  /** The cluster's alarms, as applied here. */
  readonly alarms: AlarmStore;
  readonly backendSizes: { size: number; inUse: number };
  /** The backend itself: hash, snapshot, defragment. */
  maintenanceBackend(): Backend;
  /** Asks Raft to hand leadership to `transferee`; `leaderId` shows the outcome. */
  transferLeadership(transferee: number): void;
}

/** etcd's metrics for this member. */
export interface MetricsHost {
  readonly metrics: MemberMetrics;
}

/** Time and randomness, from the member's environment (env/). */
export interface EnvHost {
  readonly env: MemberEnv;
}
