import { SeededRandom, type RandomSource } from '@kvfleet/core';
import { raft } from '@kvfleet/server';
import { Checkers, SimViolation } from './checkers.js';
import { EventQueue } from './event-queue.js';
import { HEALTHY_NETWORK, SimNetwork } from './network.js';
import { decodeProposal, decodeState, encodeProposal, encodeState, type SimState } from './state-machine.js';
import { paramsForSeed, type SimOverrides, type SimParams } from './swarm.js';

const { RaftNode, MemoryStorage, MessageType, ConfChangeType, EntryType, StateType, bootstrapState, decodeConfChange, isRaftError } = raft;
type RaftNodeT = InstanceType<typeof raft.RaftNode>;
type MemoryStorageT = InstanceType<typeof raft.MemoryStorage>;

/** Wrong behaviours outside the Raft core, to prove the checkers see what they must. */
export interface SimBugs {
  /** Send every message before persisting, acknowledging entries a crash can lose. */
  sendBeforePersist?: boolean;
}

export interface SimOptions extends SimOverrides {
  testingBugs?: raft.TestingBugs;
  simBugs?: SimBugs;
  /** Record a line per notable event; printed with a failure. */
  trace?: boolean;
  /** Also record every delivered message (very verbose). */
  traceMessages?: boolean;
}

export interface SimStats {
  /** Simulated time of the run, in ticks of one node's clock. */
  elapsedTicks: number;
  /** Ticks delivered, summed over nodes. */
  ticks: number;
  leaders: number;
  proposalsAcked: number;
  readsServed: number;
  crashes: number;
  snapshotsSent: number;
  confChangesApplied: number;
  messagesDelivered: number;
}

export type SimResult =
  | { ok: true; seed: number; params: SimParams; stats: SimStats; trace: string[] }
  | { ok: false; seed: number; params: SimParams; stats: SimStats; violation: SimViolation; trace: string[] };

/** Far beyond any healthy run (~100k events): a run that gets here is stuck in a loop. */
const MAX_EVENTS_PER_RUN = 5_000_000;
const MAX_QUEUED_EVENTS = 1_000_000;

type SimEvent =
  | { kind: 'tick'; node: number; incarnation: number }
  | { kind: 'deliver'; message: raft.Message }
  | { kind: 'persisted'; node: number; incarnation: number }
  | { kind: 'snapshot-status'; leader: number; incarnation: number; to: number; ok: boolean }
  | { kind: 'restart'; node: number }
  | { kind: 'shutdown'; node: number }
  | { kind: 'client' }
  | { kind: 'chaos' };

interface PendingRead {
  readonly id: number;
  readonly floor: number;
  index?: number;
}

/** One simulated member: its durable disk, and (while up) its Raft node and application. */
class SimNode {
  raft: RaftNodeT | undefined;
  incarnation = 0;
  state: SimState;
  /** The Ready being persisted; new input still arrives meanwhile. */
  inFlight: raft.Ready | undefined;
  readonly reads = new Map<string, PendingRead>();
  removed = false;

  constructor(
    readonly id: number,
    /** What survives a crash: only what a completed persist wrote. */
    readonly disk: MemoryStorageT,
  ) {
    this.state = decodeState(disk.snapshot());
  }

  get up(): boolean {
    return this.raft !== undefined;
  }
}

/** A deterministic run of a whole cluster: one seed, one outcome. */
export class Simulation {
  readonly params: SimParams;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly network: SimNetwork;
  private readonly nodes = new Map<number, SimNode>();
  private readonly checkers: Checkers;
  private readonly rng: { faults: RandomSource; workload: RandomSource; disk: RandomSource; raft: RandomSource };
  private readonly stats: SimStats = {
    elapsedTicks: 0,
    ticks: 0,
    leaders: 0,
    proposalsAcked: 0,
    readsServed: 0,
    crashes: 0,
    snapshotsSent: 0,
    confChangesApplied: 0,
    messagesDelivered: 0,
  };
  private readonly traceLines: string[] = [];
  /** Proposal id → the node whose client proposed it, until acknowledged. */
  private readonly proposer = new Map<number, number>();
  /** Proposal id → the index it was acknowledged at. */
  private readonly ackedAt = new Map<number, number>();
  private nextProposal = 1;
  private nextRead = 1;
  private nextNodeId: number;
  /** Ids whose removal some member has applied (ids are never reused), and the removal's index. */
  private readonly removedIds = new Map<number, number>();
  private healed = false;
  private eventsHandled = 0;

  constructor(
    seed: number,
    private readonly options: SimOptions = {},
  ) {
    this.params = paramsForSeed(seed, options);
    const root = new SeededRandom(seed ^ 0x5eed);
    this.rng = { faults: root.fork(), workload: root.fork(), disk: root.fork(), raft: root.fork() };
    this.network = new SimNetwork(root.fork(), this.params.network);
    const voters = Array.from({ length: this.params.clusterSize }, (_, i) => i + 1);
    this.nextNodeId = voters.length + 1;
    const boot = bootstrapState(voters);
    this.checkers = new Checkers(boot.snapshot.metadata.index);
    for (const id of voters) {
      const disk = new MemoryStorage();
      disk.applySnapshot(boot.snapshot);
      disk.setHardState(boot.hardState);
      this.addNode(id, disk);
    }
  }

  run(): SimResult {
    try {
      this.queue.schedule(0, { kind: 'client' });
      this.queue.schedule(0, { kind: 'chaos' });
      const chaosEnd = this.params.chaosTicks * this.params.tickMs;
      this.runUntil(chaosEnd);
      this.heal();
      this.runLiveness();
      this.finalChecks();
      this.stats.elapsedTicks = Math.floor(this.queue.now / this.params.tickMs);
      return { ok: true, seed: this.params.seed, params: this.params, stats: this.stats, trace: this.traceLines };
    } catch (e) {
      this.stats.elapsedTicks = Math.floor(this.queue.now / this.params.tickMs);
      const violation = e instanceof SimViolation ? e : new SimViolation('raft-panic', e instanceof Error ? (e.stack ?? e.message) : String(e));
      return { ok: false, seed: this.params.seed, params: this.params, stats: this.stats, violation, trace: this.traceLines };
    }
  }

  private trace(line: string): void {
    if (this.options.trace === true) this.traceLines.push(`${String(this.queue.now).padStart(6)}ms ${line}`);
  }

  // ---- nodes -----------------------------------------------------------------------------

  private addNode(id: number, disk: MemoryStorageT): SimNode {
    const node = new SimNode(id, disk);
    this.nodes.set(id, node);
    this.start(node);
    return node;
  }

  private start(node: SimNode): void {
    node.state = decodeState(node.disk.snapshot());
    node.incarnation++;
    node.inFlight = undefined;
    node.reads.clear();
    const rand = this.rng.raft.fork();
    node.raft = new RaftNode({
      id: node.id,
      storage: node.disk,
      applied: node.state.applied,
      electionTick: this.params.electionTick,
      heartbeatTick: this.params.heartbeatTick,
      checkQuorum: this.params.checkQuorum,
      preVote: this.params.preVote,
      random: (n) => rand.int(n),
      maxSizePerMsg: this.params.maxSizePerMsg,
      maxInflightMsgs: this.params.maxInflightMsgs,
      maxUncommittedEntriesSize: this.params.maxUncommittedBytes,
      ...(this.options.testingBugs ? { testingBugs: this.options.testingBugs } : {}),
    });
    // Ticks start at a random phase: clocks on different machines are not aligned.
    this.queue.schedule(1 + this.rng.faults.int(this.params.tickMs), { kind: 'tick', node: node.id, incarnation: node.incarnation });
    this.trace(`node ${node.id} starts (incarnation ${node.incarnation}, applied ${node.state.applied})`);
  }

  private crash(node: SimNode): void {
    node.raft = undefined;
    node.inFlight = undefined;
    node.reads.clear();
    node.incarnation++;
    this.stats.crashes++;
    this.trace(`node ${node.id} crashes; disk keeps up to ${node.disk.lastIndex()}`);
  }

  private liveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up && !n.removed);
  }

  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.liveNodes()) {
      if (n.raft!.state !== StateType.Leader || !n.raft!.confState().voters.includes(n.id)) continue;
      if (best === undefined || n.raft!.term > best.raft!.term) best = n;
    }
    return best;
  }

  // ---- the event loop --------------------------------------------------------------------

  private runUntil(endMs: number, until?: () => boolean): boolean {
    for (;;) {
      const t = this.queue.peekTime();
      if (t === undefined || t > endMs) return false;
      if (++this.eventsHandled > MAX_EVENTS_PER_RUN || this.queue.size() > MAX_QUEUED_EVENTS) {
        throw new SimViolation('runaway', `run exceeded its event budget (${this.eventsHandled} handled, ${this.queue.size()} queued) at ${this.queue.now} ms`);
      }
      this.handle(this.queue.pop()!);
      if (until?.()) return true;
    }
  }

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case 'tick': {
        const node = this.nodes.get(ev.node)!;
        if (node.incarnation !== ev.incarnation || !node.up) return;
        this.stats.ticks++;
        node.raft!.tick();
        this.afterInput(node);
        this.queue.schedule(this.params.tickMs, ev);
        return;
      }
      case 'deliver': {
        const node = this.nodes.get(ev.message.to);
        if (node === undefined || !node.up) return;
        if (this.refusesRemovedSender(node, ev.message.from)) return;
        this.stats.messagesDelivered++;
        if (this.options.traceMessages === true) this.trace(`deliver ${raft.describeMessage(ev.message)}`);
        node.raft!.step(ev.message);
        this.afterInput(node);
        return;
      }
      case 'persisted': {
        const node = this.nodes.get(ev.node)!;
        if (node.incarnation !== ev.incarnation || node.inFlight === undefined) return;
        this.finishReady(node, node.inFlight);
        return;
      }
      case 'snapshot-status': {
        const node = this.nodes.get(ev.leader)!;
        if (node.incarnation !== ev.incarnation || !node.up) return;
        node.raft!.reportSnapshot(ev.to, ev.ok);
        this.afterInput(node);
        return;
      }
      case 'restart': {
        const node = this.nodes.get(ev.node)!;
        if (!node.up && !node.removed) this.start(node);
        return;
      }
      case 'shutdown': {
        const node = this.nodes.get(ev.node)!;
        if (node.removed) return;
        node.removed = true;
        if (node.up) this.crash(node);
        this.trace(`node ${node.id} shuts down: removed from the cluster`);
        return;
      }
      case 'client':
        this.clientStep();
        this.queue.schedule(10, ev);
        return;
      case 'chaos':
        if (this.healed) return;
        this.chaosStep();
        if (this.queue.now % 500 === 0) this.compareAllLogs();
        this.queue.schedule(100, ev);
        return;
    }
  }

  /**
   * Like a kvfleet member's peer transport (etcd's 410 Gone): a member that has applied X's
   * removal refuses X's messages. X stops, as a real member does, when the refusal comes from a
   * voter of X's own configuration that holds the removal durably (it would apply it again after
   * a crash; the simulated state machine keeps only what its snapshot holds): that voter can
   * lead the members that remain. A learner's refusal does not stop X: a voter that has not
   * heard the removal committed may still need X's vote. Members that have not applied the
   * removal still talk to X.
   */
  private refusesRemovedSender(receiver: SimNode, from: number): boolean {
    if (!this.removedIds.has(from)) return false;
    const cs = receiver.raft!.confState();
    if (cs.voters.includes(from) || cs.learners.includes(from)) return false;
    const sender = this.nodes.get(from)!;
    const voterOfSender = sender.up && sender.raft!.confState().voters.includes(receiver.id);
    if (voterOfSender && this.holdsRemovalDurably(receiver, from)) this.queue.schedule(0, { kind: 'shutdown', node: from });
    else this.maybeRetire(from);
    return true;
  }

  /** Whether `n` would apply `id`'s removal again after a crash: its durable commit index or snapshot covers it. */
  private holdsRemovalDurably(n: SimNode, id: number): boolean {
    const durable = Math.max(n.disk.initialState().hardState.commit, n.disk.snapshot().metadata.index);
    return durable >= this.removedIds.get(id)!;
  }

  /**
   * A removed member that no voter refuses also shuts down once every other member is up and
   * holds its removal durably: nobody can need its vote then. This is the model's stand-in for
   * an operator stopping it (a real member stops on its own only when a voter of its
   * configuration refuses it, peer-transport.ts's onRemoved), so removed members do not pile up.
   */
  private maybeRetire(id: number): void {
    for (const n of this.nodes.values()) {
      if (n.id === id || n.removed) continue;
      if (!n.up) return;
      const cs = n.raft!.confState();
      if (cs.voters.includes(id) || cs.learners.includes(id)) return;
      if (!this.holdsRemovalDurably(n, id)) return;
    }
    this.queue.schedule(0, { kind: 'shutdown', node: id });
  }

  /** After any input: check leadership, then hand out a Ready if the node has one. */
  private afterInput(node: SimNode): void {
    const r = node.raft!;
    if (r.state === StateType.Leader) this.checkers.onLeader(node.id, r.term, r.logView());
    this.pump(node);
  }

  private pump(node: SimNode): void {
    const r = node.raft;
    if (r === undefined || node.inFlight !== undefined || !r.hasReady()) return;
    const rd = r.ready();
    node.inFlight = rd;
    if (rd.softState?.state === StateType.Leader) {
      this.checkers.onLeader(node.id, r.term, r.logView());
      this.trace(`node ${node.id} leads term ${r.term}`);
    }
    const sendEarly = this.options.simBugs?.sendBeforePersist === true;
    for (const m of rd.messages) if (!m.waitForPersistence || sendEarly) this.send(node, m.message);
    const needsDisk = rd.mustSync || rd.snapshot !== undefined;
    if (needsDisk && this.params.diskMaxDelayMs > 0) {
      this.queue.schedule(this.rng.disk.int(this.params.diskMaxDelayMs + 1), { kind: 'persisted', node: node.id, incarnation: node.incarnation });
    } else {
      this.finishReady(node, rd);
    }
  }

  /** The disk write is durable: carry out the rest of the Ready contract, in its order. */
  private finishReady(node: SimNode, rd: raft.Ready): void {
    const r = node.raft!;
    const disk = node.disk;
    if (rd.snapshot !== undefined) disk.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) {
      disk.append(rd.entries);
      this.checkers.onPersist(node.id, rd.entries);
    }
    if (rd.hardState !== undefined) disk.setHardState(rd.hardState);

    const sendEarly = this.options.simBugs?.sendBeforePersist === true;
    for (const m of rd.messages) if (m.waitForPersistence && !sendEarly) this.send(node, m.message);

    if (rd.snapshot !== undefined) {
      node.state = decodeState(rd.snapshot);
      this.checkers.onSnapshotInstalled(node.id, node.state);
      this.trace(`node ${node.id} installs snapshot ${rd.snapshot.metadata.index}`);
    }
    for (const e of rd.committedEntries) this.apply(node, e);
    for (const rs of rd.readStates) {
      const read = node.reads.get(ctxKey(rs.requestCtx));
      if (read !== undefined) read.index = rs.index;
    }
    r.advance(rd);
    node.inFlight = undefined;
    this.serveReads(node);
    this.maybeCompact(node);
    this.pump(node);
  }

  private apply(node: SimNode, e: raft.Entry): void {
    this.checkers.onApply(node.id, node.state, e);
    const proposal = decodeProposal(e);
    if (proposal !== undefined && this.proposer.get(proposal) === node.id) {
      // The proposer's client hears "committed" only now, when its node applied it.
      this.proposer.delete(proposal);
      this.ackedAt.set(proposal, e.index);
      this.checkers.onAck(proposal, e.index);
      this.stats.proposalsAcked++;
    }
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      this.stats.confChangesApplied++;
      if (cc.type === ConfChangeType.RemoveNode && !this.removedIds.has(cc.nodeId)) this.removedIds.set(cc.nodeId, e.index);
    }
  }

  private serveReads(node: SimNode): void {
    for (const [key, read] of node.reads) {
      if (read.index !== undefined && node.state.applied >= read.index) {
        this.checkers.onReadIndex(read.id, node.id, read.index, read.floor);
        node.reads.delete(key);
        this.stats.readsServed++;
      }
    }
  }

  private maybeCompact(node: SimNode): void {
    const disk = node.disk;
    const snapIndex = disk.snapshot().metadata.index;
    const applied = node.state.applied;
    if (applied - snapIndex < this.params.snapshotEvery || applied > disk.lastIndex()) return;
    disk.createSnapshot(applied, node.raft!.confState(), encodeState(node.state));
    const compactTo = applied - this.params.catchUpEntries;
    if (compactTo > disk.firstIndex()) disk.compact(compactTo);
  }

  private send(from: SimNode, m: raft.Message): void {
    const delays = this.network.deliveries(from.id, m.to);
    if (m.type === MessageType.MsgSnap) {
      this.stats.snapshotsSent++;
      // The transport tells the leader whether the snapshot arrived.
      const ok = delays.length > 0;
      this.queue.schedule((delays[0] ?? 0) + 1, { kind: 'snapshot-status', leader: from.id, incarnation: from.incarnation, to: m.to, ok });
    }
    for (const d of delays) this.queue.schedule(d, { kind: 'deliver', message: m });
  }

  // ---- workload --------------------------------------------------------------------------

  private clientStep(): void {
    const w = this.rng.workload;
    const live = this.liveNodes();
    if (live.length === 0) return;
    // After healing only the liveness marker is proposed: the phase measures recovery, not
    // whether throttled replication (one entry per append) outpaces the workload.
    if (!this.healed && w.chance(this.params.proposeRate)) {
      const node = w.pick(live);
      const id = this.nextProposal++;
      try {
        node.raft!.propose(encodeProposal(id));
        this.proposer.set(id, node.id);
        this.afterInput(node);
      } catch (e) {
        if (!isRaftError(e, 'ErrProposalDropped')) throw e;
      }
    }
    if (w.chance(this.params.readRate)) {
      const node = w.pick(live);
      const id = this.nextRead++;
      const ctx = new TextEncoder().encode(`read-${id}`);
      try {
        node.raft!.readIndex(ctx);
        node.reads.set(ctxKey(ctx), { id, floor: this.checkers.maxAcknowledgedIndex() });
        this.afterInput(node);
      } catch (e) {
        if (!isRaftError(e, 'ErrProposalDropped')) throw e;
      }
    }
  }

  // ---- faults ----------------------------------------------------------------------------

  private chaosStep(): void {
    const f = this.rng.faults;
    const p = this.params;
    for (const id of this.removedIds.keys()) if (!this.nodes.get(id)!.removed) this.maybeRetire(id);
    if (f.chance(p.crashRate)) {
      const live = this.liveNodes();
      if (live.length > 0) {
        const node = f.pick(live);
        this.crash(node);
        this.queue.schedule(100 + f.int(900), { kind: 'restart', node: node.id });
      }
    }
    if (f.chance(p.leaderCrashRate)) {
      const leader = this.leader();
      if (leader !== undefined) {
        this.crash(leader);
        this.queue.schedule(50 + f.int(250), { kind: 'restart', node: leader.id });
      }
    }
    if (f.chance(p.partitionRate)) this.changePartition();
    if (f.chance(p.networkChangeRate)) {
      this.network.faults = { ...p.network, dropRate: f.pick([0, p.network.dropRate, 0.3]) };
    }
    if (f.chance(p.membershipRate)) this.changeMembership();
    if (f.chance(p.transferRate)) {
      const leader = this.leader();
      if (leader !== undefined) {
        const target = f.pick(leader.raft!.confState().voters);
        this.trace(`transfer leadership ${leader.id} → ${target}`);
        leader.raft!.transferLeader(target);
        this.afterInput(leader);
      }
    }
  }

  private changePartition(): void {
    const f = this.rng.faults;
    const ids = [...this.nodes.keys()];
    const kind = f.int(3);
    this.network.heal();
    if (kind === 1) {
      const side = ids.filter(() => f.chance(0.5));
      this.network.partition(side, ids.filter((id) => !side.includes(id)));
    } else if (kind === 2 && ids.length > 1) {
      const from = f.pick(ids);
      const to = f.pick(ids.filter((id) => id !== from));
      this.network.cutOneWay(from, to);
    }
    this.trace(`network: ${this.network.describe()}`);
  }

  private changeMembership(): void {
    const f = this.rng.faults;
    const leader = this.leader();
    if (leader === undefined) return;
    const cs = leader.raft!.confState();
    const members = cs.voters.length + cs.learners.length;
    const choice = f.int(3);
    let cc: raft.ConfChange;
    if (choice === 0 && members < this.params.maxMembers) {
      cc = { type: ConfChangeType.AddLearner, nodeId: this.nextNodeId };
    } else if (choice === 1 && cs.learners.length > 0) {
      cc = { type: ConfChangeType.AddNode, nodeId: f.pick(cs.learners) };
    } else if (choice === 2 && cs.voters.length > 1) {
      // Any voter, the leader itself included.
      cc = { type: ConfChangeType.RemoveNode, nodeId: f.pick([...cs.voters, ...cs.learners]) };
    } else {
      return;
    }
    try {
      leader.raft!.proposeConfChange(cc);
    } catch (e) {
      if (isRaftError(e, 'ErrProposalDropped')) return;
      throw e;
    }
    this.trace(`propose ${ConfChangeType[cc.type]} ${cc.nodeId} via ${leader.id}`);
    if (cc.type === ConfChangeType.AddLearner) {
      // The new member starts empty and learns everything (the configuration too) by snapshot.
      this.nextNodeId++;
      this.addNode(cc.nodeId, new MemoryStorage());
    }
    this.afterInput(leader);
  }

  // ---- liveness --------------------------------------------------------------------------

  private heal(): void {
    this.healed = true;
    this.network.heal();
    this.network.faults = HEALTHY_NETWORK;
    for (const node of this.nodes.values()) if (!node.up && !node.removed) this.start(node);
    this.trace('healed: network whole, every member restarted');
  }

  /**
   * The liveness bound: a fixed allowance for electing a leader and committing, plus the time
   * flow control needs to replicate the backlog left at healing, one window of appends per
   * round trip (twice over, for probing). A finite bound that does not fail runs merely for
   * having been configured to replicate slowly.
   */
  private livenessBudgetTicks(): number {
    const p = this.params;
    const live = [...this.nodes.values()].filter((n) => !n.removed);
    const lastIndex = Math.max(...live.map((n) => n.disk.lastIndex()));
    const lowestApplied = Math.min(...live.map((n) => n.state.applied));
    const backlog = Math.max(0, lastIndex - lowestApplied);
    const perAppend = Math.max(1, Math.floor(p.maxSizePerMsg / 32));
    const perRoundTrip = perAppend * p.maxInflightMsgs;
    const roundTripTicks = Math.ceil((2 * HEALTHY_NETWORK.maxDelayMs + p.diskMaxDelayMs) / p.tickMs) + 1;
    return p.livenessTicksMax + 2 * Math.ceil(backlog / perRoundTrip) * roundTripTicks;
  }

  /** Once healed, a leader must emerge and a new proposal must reach every member in time. */
  private runLiveness(): void {
    const start = this.queue.now;
    const deadline = start + this.livenessBudgetTicks() * this.params.tickMs;
    let marker: { id: number; node: number; term: number; at: number } | undefined;
    const done = (): boolean => {
      const leader = this.leader();
      if (leader === undefined) return false;
      // A marker proposed to an earlier leader may have been overwritten, even one on the same
      // node in an earlier term (another leader came in between): propose again.
      const newLeader = marker !== undefined && (marker.node !== leader.id || marker.term !== leader.raft!.term);
      if (marker === undefined || (newLeader && !this.ackedAt.has(marker.id) && this.queue.now - marker.at > 200)) {
        const id = this.nextProposal++;
        try {
          leader.raft!.propose(encodeProposal(id));
          this.proposer.set(id, leader.id);
          marker = { id, node: leader.id, term: leader.raft!.term, at: this.queue.now };
          this.afterInput(leader);
        } catch (e) {
          if (!isRaftError(e, 'ErrProposalDropped')) throw e;
        }
        return false;
      }
      const markerIndex = this.ackedAt.get(marker.id);
      if (markerIndex === undefined) return false;
      // Proposals from before healing may commit after the marker: wait for them too.
      const index = Math.max(markerIndex, this.checkers.maxAcknowledgedIndex());
      const cs = leader.raft!.confState();
      for (const id of [...cs.voters, ...cs.learners]) {
        const n = this.nodes.get(id);
        if (n === undefined || !n.up || n.state.applied < index) return false;
      }
      return true;
    };
    if (!this.runUntil(deadline, done)) {
      const states = [...this.nodes.values()]
        .map((n) => (n.up ? `${n.id}:${n.raft!.state}/t${n.raft!.term}/lead${n.raft!.lead}/applied${n.state.applied}/last${n.disk.lastIndex()}/${describeConf(n.raft!.confState())}` : `${n.id}:${n.removed ? 'removed' : 'down'}`))
        .join(' ');
      const leader = this.leader();
      const progress = leader === undefined ? 'no leader' : [...leader.raft!.status().progress].map(([id, p]) => `${id}: ${p}`).join('; ');
      const budget = (deadline - start) / this.params.tickMs;
      throw new SimViolation('liveness', `no progress within ${budget} ticks after healing (${states}) [${progress}]`);
    }
  }

  private finalChecks(): void {
    const leader = this.leader()!;
    const cs = leader.raft!.confState();
    const members = [...cs.voters, ...cs.learners].map((id) => this.nodes.get(id)!);
    this.checkers.checkAckedKept(members.map((n) => ({ id: n.id, applied: n.state.applied })));
    this.compareAllLogs();
    this.stats.leaders = this.checkers.leaderCount();
  }

  private compareAllLogs(): void {
    const live = this.liveNodes();
    for (let i = 0; i < live.length; i++) {
      for (let j = i + 1; j < live.length; j++) {
        this.checkers.compareLogs(
          { id: live[i]!.id, log: live[i]!.raft!.logView() },
          { id: live[j]!.id, log: live[j]!.raft!.logView() },
        );
      }
    }
  }
}

function describeConf(cs: raft.ConfState): string {
  return `v${cs.voters.join(',')}` + (cs.learners.length > 0 ? `+l${cs.learners.join(',')}` : '');
}

function ctxKey(ctx: Uint8Array): string {
  return new TextDecoder().decode(ctx);
}

export function runSimulation(seed: number, options: SimOptions = {}): SimResult {
  return new Simulation(seed, options).run();
}

/** The one-line command that replays a run. */
export function reproduceCommand(seed: number, options: SimOptions = {}): string {
  const flags: string[] = [`--seed ${seed}`];
  if (options.clusterSize !== undefined) flags.push(`--cluster-size ${options.clusterSize}`);
  if (options.chaosTicks !== undefined) flags.push(`--chaos-ticks ${options.chaosTicks}`);
  if (options.profile !== undefined) flags.push(`--profile ${options.profile}`);
  if (options.testingBugs?.commitOlderTermByCount) flags.push('--bug commit-older-term');
  if (options.testingBugs?.voteTwiceInTerm) flags.push('--bug vote-twice');
  if (options.simBugs?.sendBeforePersist) flags.push('--bug send-before-persist');
  return `npm run sim -- ${flags.join(' ')}`;
}
