/**
 * A Raft member: bootstraps or restarts from the data dir, runs Raft over the peer transport,
 * applies committed entries, and offers what the gRPC services need — proposals that resolve
 * with their applied result, linearizable read barriers, lease renewal on the leader, headers.
 *
 * Time lives here, not below: ticks, lease expiry scans and watch catch-up are timers of this
 * class (on the injected clock, env/), which drives the pure Raft core, lessor and watch hub.
 */
import { EtcdError, ETCD_ERRORS, failpointsOn, hit } from '@kvfleet/core';
import type { Backend } from '../backend/backend.js';
import { replaceContents } from '../backend/replace-contents.js';
import { KvStore } from '../mvcc/kv-store.js';
import { Lessor, type LessorOptions } from '../lease/lessor.js';
import { minLeaseTtlSeconds } from '../lease/limits.js';
import { WatchHub } from '@kvfleet/core';
import { RaftNode } from '../raft/raft-node.js';
import { RaftError } from '../raft/errors.js';
import { StateType, type Entry, type Message, type Snapshot, type SoftState } from '../raft/types.js';
import type { PeerNetwork } from '../env/peer-network.js';
import type { MemberInfo } from '../member/cluster-config.js';
import { readMembers, readRemovedMembers } from '../member/member-store.js';
import { UnknownSenders } from './unknown-senders.js';
import { encodeInternalRequest } from '../apply/internal-codec.js';
import type { InternalRequest, ProposalKind, ProposalOf, ProposalResult } from '../apply/requests.js';
import { AlarmStore } from '../maintenance/alarm-store.js';
import { applyQuota } from '../maintenance/quota-alarmer.js';
import { MemberMetrics } from '../metrics/member-metrics.js';
import { memberMetricsSource } from './metrics-source.js';
import { defaultSync } from '../wal/sync.js';
import { Applier, type AppliedState, type ApplyOutcome } from './applier.js';
import { MembershipService } from './membership-service.js';
import { bootstrapMember, isDurableBackend, type BootstrappedMember } from './member-bootstrap.js';
import type { MemberConfig } from './member-config.js';
import type { MemberStorage } from '../storage/member-storage.js';
import { PendingRequests } from './pending-requests.js';
import { withRequestTimeout } from './request-timeout.js';
import { type Timer, sleep } from '../env/clock.js';
import type { MemberEnv } from '../env/member-env.js';
import { REAL_ENV } from '../env/real-env.js';
import { RaftDriver } from './raft-driver.js';
import { ReadBarrier, readContextPrefix } from './read-barrier.js';
import type {
  AppliedStateReader,
  EnvHost,
  HeaderSource,
  LeaderRouter,
  LeaseRenewer,
  MaintenanceHost,
  MemberSettings,
  MembershipHost,
  MetricsHost,
  Proposer,
  RaftStatusGetter,
  ResponseHeaderFields,
} from './roles.js';

/** Leases revoked or checkpointed per scan of the leader's lease loop. */
const LEASE_SCAN_LIMIT = 500;
const LEASE_SCAN_INTERVAL_MS = 500;
const WATCH_SYNC_INTERVAL_MS = 100;
/** How long a removed leader waits for the Raft core to hand leadership over before it stops anyway. */
const REMOVED_LEADER_HANDOFF_MS = 5000;
/** etcd's delay between applying its own removal and stopping. */
const REMOVED_STOP_DELAY_MS = 1000;
/** etcd's default progress notification interval for watchers that ask for it. */
const WATCH_PROGRESS_INTERVAL_MS = 10 * 60 * 1000;

export interface EtcdServerOptions {
  /** Extra gRPC services on the peer port (lease and membership forwarding). */
  readonly peerServices?: PeerServiceRegistrar;
  readonly metrics?: MemberMetrics;
  /** The member's world (env/): clock, randomness, files, backend, network, process; the real one by default. */
  readonly env?: MemberEnv;
}

/** A Raft member: every role in roles.ts, played by one object. */
export class EtcdServer
  implements
    HeaderSource,
    RaftStatusGetter,
    Proposer,
    AppliedStateReader,
    LeaderRouter,
    MemberSettings,
    LeaseRenewer,
    MembershipHost,
    MaintenanceHost,
    MetricsHost,
    EnvHost
{
  readonly memberId: number;
  readonly clusterId: number;
  readonly state: AppliedState;
  /** The cluster's alarms (maintenance/alarm-store.ts), as applied on this member. */
  readonly alarms = new AlarmStore();
  private readonly driver: RaftDriver;
  private readonly transport: PeerNetwork;
  private readonly pending: PendingRequests<ApplyOutcome>;
  private readonly readBarrier: ReadBarrier;
  private readonly timers: Timer[] = [];
  private readonly leaderWaiters = new Set<() => void>();
  private readonly stateListeners = new Set<() => void>();
  private lastSnapshotIndex: number;
  private stopping = false;
  /** Aborted by stop(): background retries end at once instead of waiting out their timers. */
  private readonly stopped = new AbortController();
  private fatal: unknown;
  /** The member list as applied here, membership changes and published attributes. */
  readonly membership: MembershipService;
  /** Opens the transport to senders this member does not list yet (it lags their addition). */
  private readonly unknownSenders: UnknownSenders;
  private removal: Promise<void> | undefined;

  private constructor(
    readonly config: MemberConfig,
    private readonly backend: Backend,
    private readonly storage: MemberStorage,
    boot: BootstrappedMember,
    /** etcd's metrics for this member (metrics/member-metrics.ts). */
    readonly metrics: MemberMetrics,
    /** The member's world (env/): the real one, or the simulator's. */
    readonly env: MemberEnv,
  ) {
    const log = config.logger;
    this.pending = new PendingRequests<ApplyOutcome>(env.random.int(0, 2 ** 21));
    this.memberId = boot.identity.memberId;
    this.clusterId = boot.identity.clusterId;
    this.lastSnapshotIndex = boot.snapshot?.metadata.index ?? 0;
    this.state = {
      kv: boot.kv,
      lessor: recoverLessor(backend, boot.kv, this.lessorOptions()),
      hub: new WatchHub(boot.kv, { skipCompactedEvents: config.testingBugs?.skipCompactedWatchEvents === true }),
    };
    const node = new RaftNode({
      id: this.memberId,
      storage: storage.raftStorage,
      electionTick: this.electionTicks,
      heartbeatTick: 1,
      checkQuorum: true,
      preVote: true,
      random: (n) => env.random.int(0, Math.max(1, n)),
    });
    this.transport = env.network({
      localId: this.memberId,
      clusterId: this.clusterId,
      onMessage: (m) => this.onPeerMessage(m),
      snapshotSource: () => Promise.resolve(this.backend.snapshot()),
      snapshotSink: (m, data) => {
        const meta = m.snapshot!.metadata;
        return this.storage.snapshotter.saveDb(meta.index, meta.term, data);
      },
      onUnreachable: (id) => this.driver.withNode((n) => n.reportUnreachable(id)),
      onSnapshotStatus: (id, ok) => this.driver.withNode((n) => n.reportSnapshot(id, ok)),
      // Only a peer that applied our removal refuses us so: it is committed. We stop when a
      // voter of our configuration says so: it holds the removal and can lead the members that
      // remain. A learner's refusal does not stop us: a voter that has not heard the removal
      // committed may still need our vote (docs/raft.md, "removed member still needed"). A
      // joiner has no configuration until the leader's snapshot: the list it fetched stands in.
      onRemoved: (peerId) => {
        const voters = this.driver.node.confState().voters;
        const ours = voters.length > 0 ? voters : this.membership.members.filter((m) => !m.isLearner).map((m) => m.id);
        if (ours.includes(peerId)) this.onRemovedSelf();
      },
      logger: {
        debug: (m) => log.debug(m, { component: 'transport' }),
        info: (m) => log.info(m, { component: 'transport' }),
        warn: (m) => log.warn(m, { component: 'transport' }),
        error: (m) => log.error(m, { component: 'transport' }),
      },
    });
    const startView = backend.readTxn();
    let removedIds: number[];
    try {
      this.alarms.recover(startView);
      removedIds = readRemovedMembers(startView);
    } finally {
      startView.release();
    }
    this.membership = new MembershipService(
      {
        selfId: this.memberId,
        clusterToken: config.initialClusterToken,
        logger: config.logger,
        node: () => this.driver.node,
        peers: this.transport,
        pending: this.pending,
        requestTimeoutMs: this.requestTimeoutMs,
        proposeConfChange: (cc) => this.driver.withNode((n) => n.proposeConfChange(cc)),
        mapError: (e) => this.mapRaftError(e),
        waitApplied: (index) => this.driver.waitApplied(index),
        write: (ci, fn) => this.state.kv.write(ci, fn),
        onRemovedSelf: () => this.onRemovedSelf(),
        clock: env.clock,
      },
      boot.members,
      removedIds,
    );
    this.unknownSenders = new UnknownSenders({
      selfId: this.memberId,
      clock: env.clock,
      dial: env.dial,
      logger: config.logger,
      members: () => this.membership.members,
      isRemoved: (id) => this.membership.isRemoved(id),
      addPeer: (id, urls) => this.transport.addPeer(id, urls),
      timeoutMs: Math.max(1000, 2 * config.electionTimeoutMs),
    });
    const applier = new Applier({
      applyConfChange: (entry, ci) => this.membership.applyConfChange(entry, ci),
      applyMemberAttributes: (req, txn) => this.membership.applyAttributes(req, txn),
      alarms: this.alarms,
      quota: applyQuota(this),
      state: this.state,
      pending: this.pending,
      loadSnapshot: (s) => this.loadSnapshot(s),
      afterApply: (index) => this.maybeSnapshot(index),
      onEmptyEntry: (e) => this.onEmptyEntry(e),
      ...(config.testingBugs === undefined ? {} : { testingBugs: config.testingBugs }),
    });
    this.driver = new RaftDriver(
      node,
      storage,
      { send: (ms) => this.transport.send(ms) },
      applier,
      {
        onSoftState: (s) => this.onSoftState(s),
        onReadStates: (states) => states.forEach((rs) => this.readBarrier.onReadState(rs.index, rs.requestCtx)),
        onFatal: (e) => this.onFatal(e),
      },
      boot.kv.consistentIndex.consistentIndex,
      config.testingBugs,
    );
    this.readBarrier = new ReadBarrier(
      {
        requestReadIndex: (ctx) => this.driver.withNode((n) => n.readIndex(ctx)),
        waitApplied: (index) => this.driver.waitApplied(index),
        timeoutError: () => new EtcdError(ETCD_ERRORS.ErrGRPCTimeout),
        setTimer: (fn, ms) => env.clock.setTimeout(fn, ms),
      },
      this.requestTimeoutMs,
      undefined,
      readContextPrefix(this.memberId, env.random.int(0, 2 ** 32)),
    );
  }

  /** Starts the member: storage, Raft, and the peer listener. Client listeners are the caller's. */
  static async start(config: MemberConfig, options: EtcdServerOptions = {}): Promise<EtcdServer> {
    const { peerServices: extraPeerServices = () => {}, env = REAL_ENV } = options;
    const metrics = options.metrics ?? new MemberMetrics(undefined, env.clock);
    const boot = await bootstrapMember(config, env, metrics.timedWalSync(defaultSync));
    metrics.timeBackendCommits(boot.backend);
    const server = new EtcdServer(config, boot.backend, boot.storage, boot, metrics, env);
    metrics.bind(memberMetricsSource(server));
    extraPeerServices(server.transport, server);
    await server.transport.listen(config.listenPeerUrls[0]!);
    server.membership.connectPeers();
    server.startTimers();
    void server.membership.publish(
      { ID: server.memberId, name: config.name, clientUrls: [...config.advertiseClientUrls] },
      (req) => server.propose({ memberAttributes: req }),
      server.stopped.signal,
    );
    config.logger.info(boot.restarted ? 'member restarted' : 'member started', {
      name: config.name,
      memberId: server.memberId.toString(16),
      clusterId: server.clusterId.toString(16),
      appliedIndex: server.driver.appliedIndex,
      revision: boot.kv.currentRevision,
    });
    server.driver.kick();
    return server;
  }

  // ---- what the API layer uses -------------------------------------------------------

  get kv(): KvStore {
    return this.state.kv;
  }

  get hub(): WatchHub {
    return this.state.hub;
  }

  get lessor(): Lessor {
    return this.state.lessor;
  }

  get leaderId(): number {
    return this.driver.node.lead;
  }

  get isLeader(): boolean {
    return this.driver.node.state === StateType.Leader;
  }

  get raftTerm(): number {
    return this.driver.node.term;
  }

  get appliedIndex(): number {
    return this.driver.appliedIndex;
  }

  get raftIndex(): number {
    return this.driver.node.logView().lastIndex();
  }

  /** Highest log index known to be committed (metrics). */
  get committedIndex(): number {
    return this.driver.node.logView().committed();
  }

  /** The last measured round-trip time to a peer, in milliseconds (metrics). */
  peerRttMs(peerId: number): number | undefined {
    return this.transport.rtt(peerId);
  }

  /** The backend file's size: what the quota is checked against. */
  get backendSizeBytes(): number {
    return this.backend.sizeBytes();
  }

  get backendSizes(): { size: number; inUse: number } {
    return { size: this.backend.sizeBytes(), inUse: this.backend.sizeInUseBytes() };
  }

  /** The backend itself, for the Maintenance service (hash, snapshot, defragment). */
  maintenanceBackend(): Backend {
    return this.backend;
  }

  /** Asks Raft to hand leadership to `transferee`; the caller watches `leaderId` for the outcome. */
  transferLeadership(transferee: number): void {
    this.driver.withNode((n) => n.transferLeader(transferee));
  }

  memberList(): MemberInfo[] {
    return this.membership.members;
  }

  /** Whether this member is a learner (serves serializable reads and status only, as etcd). */
  get isLearner(): boolean {
    return this.membership.isLearner;
  }

  header(revision = this.state.kv.currentRevision): ResponseHeaderFields {
    return { clusterId: this.clusterId, memberId: this.memberId, revision, raftTerm: this.driver.node.term };
  }

  /** Called when kv/lessor/hub were replaced by a snapshot load: open watch streams must restart. */
  onStateReplaced(listener: () => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * Proposes a request through Raft and resolves with its applied outcome. Fails with etcd's
   * errors: request too large, no leader, timeout (the entry may still commit later: a timed
   * out write is "maybe applied", as in etcd), server stopped.
   */
  async propose<K extends ProposalKind>(body: ProposalOf<K>): Promise<ApplyOutcome<ProposalResult<K>>> {
    this.checkRunning();
    const { id, done } = this.pending.register<ApplyOutcome<ProposalResult<K>>>();
    const data = encodeInternalRequest({ id, ...body } as InternalRequest);
    if (data.length > this.config.maxRequestBytes) {
      this.pending.forget(id);
      throw new EtcdError(ETCD_ERRORS.ErrGRPCRequestTooLarge);
    }
    this.metrics.proposalsPending.inc();
    try {
      await this.waitForLeader();
      this.driver.withNode((n) => n.propose(data));
    } catch (e) {
      this.pending.forget(id);
      this.metrics.proposalsPending.dec();
      this.metrics.proposalsFailed.inc();
      throw this.mapRaftError(e);
    }
    const outcome = withRequestTimeout(this.env.clock, done, this.requestTimeoutMs, () => {
      this.pending.forget(id);
      this.metrics.proposalsFailed.inc();
    });
    const settled = (): void => this.metrics.proposalsPending.dec();
    outcome.then(settled, settled);
    return outcome;
  }

  /** Resolves when local state reflects every write acknowledged before the call (ReadIndex). */
  async linearizableBarrier(): Promise<void> {
    this.checkRunning();
    try {
      await this.waitForLeader();
      await this.readBarrier.wait();
    } catch (e) {
      throw this.mapRaftError(e);
    }
  }

  /** Renews a lease; on a follower the caller forwards to the leader (see `leaderPeerUrls`). */
  renewLease(id: number): number {
    const r = this.state.lessor.renew(id);
    if (r.clearRemaining) {
      void this.propose({ leaseCheckpoint: { checkpoints: [{ ID: id, remainingTTL: 0 }] } }).catch(() => undefined);
    }
    return r.ttl;
  }

  /** Peer URLs of the current leader, for forwarding leader-only calls. */
  leaderPeerUrls(): readonly string[] | undefined {
    return this.membership.member(this.driver.node.lead)?.peerUrls;
  }

  /** Waits until a leader is known (at most the request timeout); fails with ErrGRPCNoLeader. */
  waitForLeader(timeoutMs = 3 * this.config.electionTimeoutMs): Promise<void> {
    if (this.driver.node.lead !== 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        timer.cancel();
        this.leaderWaiters.delete(done);
        resolve();
      };
      const timer = this.env.clock.setTimeout(() => {
        this.leaderWaiters.delete(done);
        reject(new EtcdError(ETCD_ERRORS.ErrGRPCNoLeader));
      }, timeoutMs);
      this.leaderWaiters.add(done);
    });
  }

  /** Stops cleanly: no new requests, Raft and applies wound down, files closed. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stopped.abort();
    this.metrics.close();
    for (const t of this.timers) t.cancel();
    const stopped = new EtcdError(ETCD_ERRORS.ErrGRPCStopped);
    this.readBarrier.failAll(stopped);
    this.pending.failAll(stopped);
    await this.transport.close();
    await this.driver.stop();
    await this.storage.close();
    await this.backend.close();
  }

  get requestTimeoutMs(): number {
    // etcd: 5 s plus two election timeouts.
    return 5000 + 2 * this.config.electionTimeoutMs;
  }

  // ---- internals ---------------------------------------------------------------------

  private get electionTicks(): number {
    return Math.max(2, Math.round(this.config.electionTimeoutMs / this.config.heartbeatIntervalMs));
  }

  private lessorOptions(): LessorOptions {
    return {
      now: () => this.env.clock.monotonic(),
      minTtlSeconds: minLeaseTtlSeconds(this.electionTicks, this.config.heartbeatIntervalMs),
    };
  }

  private startTimers(): void {
    const every = (ms: number, fn: () => void): void => {
      const t = this.env.clock.setInterval(() => {
        if (!this.stopping) fn();
      }, ms);
      this.timers.push(t);
    };
    every(this.config.heartbeatIntervalMs, () => this.driver.tick());
    every(WATCH_SYNC_INTERVAL_MS, () => this.state.hub.syncUnsynced());
    every(WATCH_PROGRESS_INTERVAL_MS, () => this.state.hub.progressTick());
    every(LEASE_SCAN_INTERVAL_MS, () => this.scanLeases());
  }

  /** Leader only: revoke expired leases and checkpoint long ones, through Raft. */
  private scanLeases(): void {
    if (!this.isLeader) return;
    const { lessor } = this.state;
    for (const id of lessor.expired(LEASE_SCAN_LIMIT)) {
      this.propose({ leaseRevoke: { ID: id } }).catch((e: unknown) => {
        this.config.logger.debug('lease revoke failed; will retry', { lease: id.toString(16), error: String(e) });
      });
    }
    const due = lessor.checkpointsDue(LEASE_SCAN_LIMIT);
    if (due.length > 0) {
      const checkpoints = due.map((c) => ({ ID: c.id, remainingTTL: c.remainingTtl }));
      this.propose({ leaseCheckpoint: { checkpoints } }).catch(() => undefined);
    }
  }

  private onPeerMessage(m: Message): void {
    if (this.stopping) return;
    this.unknownSenders.noteSender(m.from);
    try {
      this.driver.step(m);
    } catch (e) {
      this.config.logger.warn('dropped a peer message', { type: m.type, from: m.from.toString(16), error: String(e) });
    }
  }

  private onSoftState(s: SoftState): void {
    this.metrics.onLeader(s.lead);
    if (s.lead !== 0) {
      for (const w of [...this.leaderWaiters]) w();
      this.readBarrier.leaderChanged();
    }
    if (s.state !== StateType.Leader && this.state.lessor.isPrimary) this.state.lessor.demote();
    this.config.logger.info('raft state', { state: s.state, leader: s.lead.toString(16), term: this.driver.node.term });
  }

  /** etcd promotes the lessor when the new leader applies the empty entry of its own term. */
  private onEmptyEntry(e: Entry): void {
    if (this.isLeader && e.term === this.driver.node.term && !this.state.lessor.isPrimary) {
      this.state.lessor.promote(this.config.electionTimeoutMs);
    }
  }

  private async loadSnapshot(snapshot: Snapshot): Promise<void> {
    const { index, term } = snapshot.metadata;
    this.config.logger.info('loading a snapshot received from the leader', { index, term });
    if (failpointsOn) await hit('beforeApplySnapshot');
    await replaceContents(this.backend, this.storage.snapshotter.readDb(index, term));
    const kv = await KvStore.open(this.backend);
    this.state.kv = kv;
    this.state.lessor = recoverLessor(this.backend, kv, this.lessorOptions());
    this.state.hub = new WatchHub(kv, { skipCompactedEvents: this.config.testingBugs?.skipCompactedWatchEvents === true });
    const view = this.backend.readTxn();
    try {
      this.membership.replaceAll(readMembers(view), readRemovedMembers(view));
      this.alarms.recover(view);
    } finally {
      view.release();
    }
    this.lastSnapshotIndex = index;
    // A backend that does not survive restarts still needs this image until the next snapshot.
    await this.storage.snapshotter.removeDbsUpTo(index, { keepIndex: !isDurableBackend(this.config) });
    for (const l of this.stateListeners) l();
  }

  private async maybeSnapshot(appliedIndex: number): Promise<void> {
    if (appliedIndex - this.lastSnapshotIndex < this.config.snapshotCount) return;
    const term = this.driver.node.logView().term(appliedIndex) ?? 0;
    if (!isDurableBackend(this.config)) {
      // The image first: a WAL marker must never name a snapshot whose image is missing.
      await this.storage.snapshotter.saveDb(appliedIndex, term, this.backend.snapshot());
    }
    const snap = await this.storage.snapshotAt(appliedIndex, this.driver.node.confState(), this.config.snapshotCatchUpEntries);
    if (snap === undefined) return;
    if (!isDurableBackend(this.config)) await this.storage.snapshotter.removeDbsUpTo(appliedIndex, { keepIndex: true });
    this.lastSnapshotIndex = appliedIndex;
    this.config.logger.info('saved a snapshot', { index: appliedIndex, term });
  }

  /**
   * This member applied its own removal: stop like etcd ("the member has been permanently
   * removed from the cluster"). A removed leader first hands leadership over (the Raft core
   * does it once the others know), so it waits for that, bounded, then exits.
   */
  private onRemovedSelf(): void {
    if (this.removal !== undefined || this.stopping) return;
    this.config.logger.warn('the member has been permanently removed from the cluster', { memberId: this.memberId.toString(16) });
    this.removal = (async () => {
      const { clock } = this.env;
      const deadline = clock.monotonic() + REMOVED_LEADER_HANDOFF_MS;
      while (this.isLeader && clock.monotonic() < deadline) await sleep(clock, this.config.heartbeatIntervalMs);
      // etcd stops a removed member after a short delay, so its last acknowledgements go out.
      await sleep(clock, REMOVED_STOP_DELAY_MS);
      await this.stop();
      this.env.process.exit(0);
    })();
  }

  private onFatal(e: unknown): void {
    if (this.fatal !== undefined) return;
    this.fatal = e;
    this.config.logger.error('member stopped by a fatal error', { error: e, stack: e instanceof Error ? e.stack : undefined });
    // A member that cannot persist or apply must not go on answering: exit like etcd's panic.
    void this.stop().finally(() => this.env.process.exit(1));
  }

  private checkRunning(): void {
    if (this.stopping) throw new EtcdError(ETCD_ERRORS.ErrGRPCStopped);
  }

  private mapRaftError(e: unknown): unknown {
    if (e instanceof RaftError && e.code === 'ErrProposalDropped') {
      return new EtcdError(this.driver.node.lead === 0 ? ETCD_ERRORS.ErrGRPCNoLeader : ETCD_ERRORS.ErrGRPCTimeout);
    }
    return e;
  }
}

/** Hook to serve more gRPC services on the peer port (leader forwarding). */
export type PeerServiceRegistrar = (network: PeerNetwork, server: EtcdServer) => void;

function recoverLessor(backend: Backend, kv: KvStore, options: LessorOptions): Lessor {
  const all = kv.range(Uint8Array.of(0), Uint8Array.of(0));
  const view = backend.readTxn();
  try {
    return Lessor.recover(view, all.kvs, options);
  } finally {
    view.release();
  }
}
