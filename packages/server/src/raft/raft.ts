import { applyConfChange, decodeConfChange } from './confchange.js';
import { RaftError, isRaftError } from './errors.js';
import { ProgressState } from './progress.js';
import { VoteResult, isQuorum } from './quorum.js';
import { RaftLog } from './raft-log.js';
import { ReadOnly, type ReadRequest } from './read-only.js';
import type { RaftStorage } from './storage.js';
import { ProgressTracker } from './tracker.js';
import {
  EMPTY_BYTES,
  EntryType,
  MessageType,
  NONE,
  StateType,
  newMessage,
  voteResponseType,
  type ConfState,
  type Entry,
  type Message,
  type ReadState,
  type Snapshot,
} from './types.js';
import { bytesEqual } from './util.js';

/** Marks a MsgVote sent on a leader's request (MsgTimeoutNow): voters grant it despite their lease. */
export const CAMPAIGN_TRANSFER = new TextEncoder().encode('CampaignTransfer');
/** Marks heartbeats of a removed leader that carry a commit index covering its removal. */
const HANDOFF_CONTEXT = new TextEncoder().encode('Handoff');

export interface RaftConfig {
  /** This node's id; never 0. */
  id: number;
  storage: RaftStorage;
  /** Ticks without hearing from a leader before campaigning; randomized in [n, 2n). */
  electionTick: number;
  /** Ticks between leader heartbeats. Must be < electionTick. */
  heartbeatTick: number;
  /** The last index the application applied before a restart (0 for a new node). */
  applied?: number;
  /** Bytes of entries in one MsgApp (at least one entry is always sent). Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Bytes of committed entries in one Ready. Default 8 MiB. */
  maxCommittedSizePerReady?: number;
  /** Appends in flight to one follower in Replicate state. Default 256. */
  maxInflightMsgs?: number;
  /** Bytes of proposed but uncommitted entries a leader accepts before dropping proposals. Default 64 MiB. */
  maxUncommittedEntriesSize?: number;
  /** ReadIndex requests a leader queues (and, before its first commit, defers). Default 4096. */
  maxPendingReadIndex?: number;
  /** Leader steps down when it has not heard from a quorum for an election timeout. */
  checkQuorum: boolean;
  /** Candidates first ask whether they could win (Raft thesis §9.6), so a partitioned node rejoining does not disrupt. */
  preVote: boolean;
  /** An integer in [0, n). Injected so that runs are reproducible. */
  random: (n: number) => number;
  /** Deliberately wrong behaviours, only for proving that the simulator's checkers catch them. */
  testingBugs?: TestingBugs;
}

export interface TestingBugs {
  /** Commit by counting replicas even when the entry is from an older term (the Figure 8 bug). */
  commitOlderTermByCount?: boolean;
  /** Grant a vote to any up-to-date candidate, even after voting for another in the same term. */
  voteTwiceInTerm?: boolean;
}

/** A message to send, and whether it must wait until the Ready's state is durable. */
export interface OutgoingMessage {
  readonly message: Message;
  /**
   * true: send only after Ready.hardState, Ready.entries and Ready.snapshot are persisted.
   * false: may be sent at once, in parallel with persistence (a leader's appends, heartbeats and
   * snapshots carry nothing the leader has promised; Raft thesis §10.2.1).
   */
  readonly waitForPersistence: boolean;
}

type StepFn = (m: Message) => boolean;

/**
 * The Raft protocol state machine (one node). It does no I/O: input is tick() and step(),
 * output accumulates in `msgs`, `readStates` and the log's unstable tail, collected by RaftNode.
 *
 * Each role installs its own tick and step behaviour (becomeFollower → stepFollower,
 * tickElection; becomeLeader → stepLeader, tickHeartbeat).
 */
export class Raft {
  readonly id: number;
  term = 0;
  vote = NONE;
  lead = NONE;
  state: StateType = StateType.Follower;
  isLearner = false;
  readonly raftLog: RaftLog;
  readonly prs: ProgressTracker;
  /** The log index the configuration reflects: the last change applied, or the snapshot restored. */
  private configIndex = 0;
  msgs: OutgoingMessage[] = [];
  readStates: ReadState[] = [];
  leadTransferee = NONE;
  /** A leader accepts no new ConfChange until the one at this index is applied. */
  pendingConfIndex = 0;
  uncommittedSize = 0;
  /** Set while a leader that removed itself hands over: the index of its removal. */
  removedAtIndex = 0;
  private readonly handoffAcks = new Set<number>();
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;

  private readonly cfg: Required<Omit<RaftConfig, 'applied' | 'testingBugs'>> & { testingBugs: TestingBugs };
  private readonly readOnly: ReadOnly;
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  private pendingReadIndexMessages: Message[] = [];
  private tickFn: () => void = () => this.tickElection();
  private stepFn: StepFn = (m) => this.stepFollower(m);

  constructor(config: RaftConfig) {
    if (config.id === NONE) throw new RaftError('ErrInvalidConfig', 'cannot use none as id');
    if (config.heartbeatTick <= 0 || config.electionTick <= config.heartbeatTick) {
      throw new RaftError('ErrInvalidConfig', 'election tick must be greater than heartbeat tick > 0');
    }
    this.cfg = {
      maxSizePerMsg: 1 << 20,
      maxCommittedSizePerReady: 8 << 20,
      maxInflightMsgs: 256,
      maxUncommittedEntriesSize: 64 << 20,
      maxPendingReadIndex: 4096,
      ...config,
      testingBugs: config.testingBugs ?? {},
    };
    this.id = config.id;
    this.raftLog = new RaftLog(config.storage, this.cfg.maxCommittedSizePerReady);
    this.prs = new ProgressTracker(this.cfg.maxInflightMsgs);
    this.readOnly = new ReadOnly(this.cfg.maxPendingReadIndex, (acks) => isQuorum(this.prs.voters, (id) => acks.has(id)));

    const { hardState, confState } = config.storage.initialState();
    this.setConfig(confState);
    this.configIndex = config.storage.snapshot().metadata.index;
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) {
      if (hardState.commit < this.raftLog.committed || hardState.commit > this.raftLog.lastIndex()) {
        throw new Error(`${this.id} state.commit ${hardState.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`);
      }
      this.raftLog.committed = hardState.commit;
      this.term = hardState.term;
      this.vote = hardState.vote;
    }
    const applied = config.applied ?? 0;
    // The commit index is persisted lazily (unsynced, and possibly after entries were applied),
    // so the state machine may be ahead of it: what was applied was committed, so catch up.
    if (applied > this.raftLog.committed && applied <= this.raftLog.lastIndex()) this.raftLog.committed = applied;
    if (applied > this.raftLog.applied) {
      this.raftLog.appliedTo(applied);
      // The configuration is the snapshot's plus every change applied after it. Entries the
      // log still retains below the snapshot are already inside its configuration.
      const from = Math.max(this.raftLog.firstIndex(), config.storage.snapshot().metadata.index + 1);
      for (const e of this.raftLog.slice(from, applied + 1, Number.MAX_SAFE_INTEGER)) {
        if (e.type === EntryType.ConfChange) this.applyConfChangeEntry(e);
      }
    }
    this.becomeFollower(this.term, NONE);
  }

  // ---- configuration -------------------------------------------------------------------

  promotable(): boolean {
    const pr = this.prs.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.unstable.snapshot;
  }

  private setConfig(cs: ConfState): void {
    this.prs.setConfig(cs, this.raftLog.lastIndex() + 1);
    this.isLearner = cs.learners.includes(this.id);
    const self = this.prs.progress.get(this.id);
    if (self !== undefined) {
      self.recentActive = true;
      self.maybeUpdate(this.persistedIndex());
    }
  }

  /**
   * Applies a committed ConfChange entry; invalid changes are skipped identically everywhere.
   * So is one the configuration already covers: a snapshot restored while the Ready holding the
   * entry was outstanding carries a configuration from after it (seed 804943008).
   */
  applyConfChangeEntry(e: Entry): void {
    if (e.index <= this.configIndex) return;
    this.configIndex = e.index;
    let next: ConfState;
    try {
      next = applyConfChange(this.prs.confState(), decodeConfChange(e.data));
    } catch (err) {
      if (isRaftError(err, 'ErrInvalidConfig')) return;
      throw err;
    }
    this.switchToConfig(next, e.index);
  }

  private switchToConfig(cs: ConfState, index: number): void {
    this.setConfig(cs);
    const member = this.prs.progress.has(this.id);
    if (this.state === StateType.Leader && (!member || this.isLearner)) {
      this.startHandoff(index);
      return;
    }
    if (this.state !== StateType.Leader || this.prs.voters.length === 0) return;
    // The quorum changed: something may now be committed, and new members need appends.
    if (this.maybeCommit()) this.bcastAppend();
    else for (const id of this.prs.memberIds()) if (id !== this.id) this.maybeSendAppend(id, false);
    if (this.leadTransferee !== NONE && !this.prs.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
  }

  // ---- sending ---------------------------------------------------------------------------

  private send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    const t = m.type;
    if (t === MessageType.MsgVote || t === MessageType.MsgVoteResp || t === MessageType.MsgPreVote || t === MessageType.MsgPreVoteResp) {
      if (m.term === 0) throw new Error(`term should be set when sending ${MessageType[t]}`);
    } else if (t !== MessageType.MsgProp && t !== MessageType.MsgReadIndex) {
      // Proposals and read requests travel like local messages: no term.
      m.term = this.term;
    }
    this.msgs.push({ message: m, waitForPersistence: this.mustWaitForPersistence(m) });
  }

  private mustWaitForPersistence(m: Message): boolean {
    switch (m.type) {
      case MessageType.MsgApp:
      case MessageType.MsgHeartbeat:
      case MessageType.MsgSnap:
      case MessageType.MsgTimeoutNow:
      case MessageType.MsgReadIndexResp:
        return this.state !== StateType.Leader;
      case MessageType.MsgProp:
      case MessageType.MsgReadIndex:
      case MessageType.MsgTransferLeader:
      case MessageType.MsgPreVote:
      case MessageType.MsgPreVoteResp:
        return false;
      default:
        // Votes and acknowledgements promise durable state.
        return true;
    }
  }

  /** Sends an append (or a snapshot) to `to` if flow control allows. */
  sendAppend(to: number): void {
    this.maybeSendAppend(to, true);
  }

  private maybeSendAppend(to: number, sendIfEmpty: boolean): boolean {
    const pr = this.prs.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.termOrUndefined(prevIndex);
    let ents: Entry[] | undefined;
    if (prevTerm !== undefined) {
      try {
        ents = this.raftLog.entriesFrom(pr.next, this.cfg.maxSizePerMsg);
      } catch (e) {
        if (!isRaftError(e, 'ErrCompacted')) throw e;
      }
    }
    if (ents !== undefined && ents.length === 0 && !sendIfEmpty) return false;
    if (prevTerm === undefined || ents === undefined) return this.maybeSendSnapshot(to);
    this.send(newMessage({
      type: MessageType.MsgApp,
      to,
      index: prevIndex,
      logTerm: prevTerm,
      entries: ents,
      commit: this.raftLog.committed,
    }));
    pr.sentEntries(ents.length, ents.length > 0 ? ents[ents.length - 1]!.index : prevIndex);
    return true;
  }

  private maybeSendSnapshot(to: number): boolean {
    const pr = this.prs.progress.get(to)!;
    // A follower that has not answered lately would not take it anyway; snapshots are expensive.
    if (!pr.recentActive) return false;
    let snapshot: Snapshot;
    try {
      snapshot = this.raftLog.snapshot();
    } catch (e) {
      if (isRaftError(e, 'ErrSnapshotTemporarilyUnavailable')) return false;
      throw e;
    }
    if (snapshot.metadata.index === 0) throw new Error('need non-empty snapshot');
    this.send(newMessage({ type: MessageType.MsgSnap, to, snapshot }));
    pr.becomeSnapshot(snapshot.metadata.index);
    return true;
  }

  /**
   * A leader that removed itself keeps leading (taking no proposals) until a quorum of the new
   * configuration knows the removal is committed. Stepping down at once could strand them:
   * members that have not learned the commit still count the removed node as a voter, and it
   * may hold a longer log it cannot campaign with, so nobody could win (see docs/raft.md).
   */
  private startHandoff(removalIndex: number): void {
    this.removedAtIndex = removalIndex;
    this.handoffAcks.clear();
    this.bcastHeartbeat();
  }

  private onHandoffAck(from: number): void {
    if (!this.prs.isVoter(from)) return;
    this.handoffAcks.add(from);
    if (!isQuorum(this.prs.voters, (id) => this.handoffAcks.has(id))) return;
    // Hand leadership to the most up-to-date of them, so nobody waits for a timeout.
    let best = NONE;
    for (const id of this.handoffAcks) {
      const pr = this.prs.progress.get(id);
      if (pr !== undefined && (best === NONE || pr.match > this.prs.progress.get(best)!.match)) best = id;
    }
    if (best !== NONE && this.prs.progress.get(best)!.match === this.raftLog.lastIndex()) this.sendTimeoutNow(best);
    this.becomeFollower(this.term, NONE);
  }

  private sendHeartbeat(to: number, context: Uint8Array): void {
    const pr = this.prs.progress.get(to)!;
    // Never tell a follower to commit beyond what it is known to hold.
    const commit = Math.min(pr.match, this.raftLog.committed);
    this.send(newMessage({ type: MessageType.MsgHeartbeat, to, commit, context }));
  }

  bcastAppend(): void {
    for (const id of this.prs.memberIds()) if (id !== this.id) this.sendAppend(id);
  }

  bcastHeartbeat(context: Uint8Array = EMPTY_BYTES): void {
    for (const id of this.prs.memberIds()) {
      if (id === this.id) continue;
      // While handing off, mark heartbeats whose commit index (see sendHeartbeat) covers the removal.
      const pr = this.prs.progress.get(id)!;
      const handoff = this.removedAtIndex > 0 && context.length === 0 && Math.min(pr.match, this.raftLog.committed) >= this.removedAtIndex;
      this.sendHeartbeat(id, handoff ? HANDOFF_CONTEXT : context);
    }
  }

  // ---- commit ----------------------------------------------------------------------------

  /** Index of the last entry known durable on this node. */
  persistedIndex(): number {
    return this.raftLog.unstable.offset - 1;
  }

  /** Advances the commit index to what a quorum holds, under the current-term rule. */
  maybeCommit(): boolean {
    const mci = this.prs.committed();
    if (this.cfg.testingBugs.commitOlderTermByCount && mci > this.raftLog.committed && mci <= this.raftLog.lastIndex()) {
      this.raftLog.commitTo(mci);
      return true;
    }
    return this.raftLog.maybeCommit(mci, this.term);
  }

  /** Called once the log up to `index` is durable here (from RaftNode.advance). */
  onPersisted(): void {
    if (this.state !== StateType.Leader) return;
    const self = this.prs.progress.get(this.id);
    if (self !== undefined && self.maybeUpdate(this.persistedIndex()) && this.maybeCommit()) this.onCommitAdvanced();
  }

  private onCommitAdvanced(): void {
    this.bcastAppend();
    this.releasePendingReadIndexMessages();
  }

  // ---- role changes ----------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.prs.resetVotes();
    const next = this.raftLog.lastIndex() + 1;
    for (const [id, pr] of this.prs.progress) {
      pr.match = 0;
      pr.becomeProbe();
      pr.next = next;
      pr.recentActive = id === this.id;
      if (id === this.id) pr.match = this.persistedIndex();
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.removedAtIndex = 0;
    this.handoffAcks.clear();
    this.readOnly.reset();
    this.pendingReadIndexMessages = [];
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.cfg.electionTick + this.cfg.random(this.cfg.electionTick);
  }

  becomeFollower(term: number, lead: number): void {
    this.stepFn = (m) => this.stepFollower(m);
    this.reset(term);
    this.tickFn = () => this.tickElection();
    this.lead = lead;
    this.state = StateType.Follower;
  }

  private becomeCandidate(): void {
    if (this.state === StateType.Leader) throw new Error('invalid transition [leader -> candidate]');
    this.stepFn = (m) => this.stepCandidate(m);
    this.reset(this.term + 1);
    this.tickFn = () => this.tickElection();
    this.vote = this.id;
    this.state = StateType.Candidate;
  }

  private becomePreCandidate(): void {
    if (this.state === StateType.Leader) throw new Error('invalid transition [leader -> pre-candidate]');
    // Neither the term nor the vote changes: a pre-election promises nothing.
    this.stepFn = (m) => this.stepCandidate(m);
    this.prs.resetVotes();
    this.tickFn = () => this.tickElection();
    this.lead = NONE;
    this.state = StateType.PreCandidate;
  }

  private becomeLeader(): void {
    if (this.state === StateType.Follower) throw new Error('invalid transition [follower -> leader]');
    this.stepFn = (m) => this.stepLeader(m);
    this.reset(this.term);
    this.tickFn = () => this.tickHeartbeat();
    this.lead = this.id;
    this.state = StateType.Leader;
    // A removed node leads only to hand over (maybeCampaignAsRemoved): it has no progress.
    this.prs.progress.get(this.id)?.becomeReplicate();
    // Conservatively, no ConfChange until everything before this term is applied: the
    // log may hold an unapplied one (and see docs/raft.md on the current-term entry).
    this.pendingConfIndex = this.raftLog.lastIndex() + 1;
    // The empty entry commits everything before it (commit needs a current-term entry).
    this.appendEntries([{ term: 0, index: 0, type: EntryType.Normal, data: EMPTY_BYTES }]);
    // Its removal is applied already: the handoff waits for this term's entry, which carries
    // the commit of everything before it (the removal included) to the voters.
    // (The caller's bcastAppend carries it; heartbeats mark themselves once it commits.)
    if (!this.prs.progress.has(this.id)) this.removedAtIndex = this.raftLog.lastIndex();
  }

  // ---- ticks -----------------------------------------------------------------------------

  tick(): void {
    this.tickFn();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.stepInternal(newMessage({ type: MessageType.MsgHup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.stepInternal(newMessage({ type: MessageType.MsgCheckQuorum, from: this.id }));
      // A transfer that has not finished within an election timeout is abandoned.
      if (this.state === StateType.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.stepInternal(newMessage({ type: MessageType.MsgBeat, from: this.id }));
    }
  }

  // ---- elections -------------------------------------------------------------------------

  private hup(transfer: boolean): void {
    if (this.state === StateType.Leader) return;
    if (!this.promotable()) return;
    if (this.hasUnappliedConfChanges()) return;
    if (this.cfg.preVote && !transfer) this.campaign('pre-election', false);
    else this.campaign('election', transfer);
  }

  /**
   * A node that applied its own removal is not promotable, yet a voter that has not learned the
   * removal committed still counts it and needs its vote, which it must refuse when its own log
   * is longer (the entries it holds beyond the candidate's may be committed). Nobody could win.
   * Asked by such a voter of its configuration, it campaigns itself: counting only that
   * configuration's voters (never itself), and, if it wins, only to hand leadership over
   * (becomeLeader starts the handoff at once). A stale member of the latest configuration it
   * knows campaigns under the same rules, so this is no less safe than any election.
   */
  private maybeCampaignAsRemoved(candidate: number): void {
    // A (pre-)candidate too: its requests may have been lost, and it never times out to retry.
    if (this.state === StateType.Leader || this.prs.progress.has(this.id)) return;
    if (!this.prs.isVoter(candidate) || this.raftLog.unstable.snapshot !== undefined) return;
    if (this.hasUnappliedConfChanges()) return;
    // Always a pre-election first, pre-vote configured or not: it must never raise the
    // voters' terms (or take their votes) in an election it cannot win, e.g. when voters
    // that applied the removal refuse its messages.
    this.campaign('pre-election', false);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    const lo = Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex());
    if (lo > this.raftLog.committed) return false;
    return this.raftLog
      .slice(lo, this.raftLog.committed + 1, Number.MAX_SAFE_INTEGER)
      .some((e) => e.type === EntryType.ConfChange);
  }

  private campaign(kind: 'pre-election' | 'election', transfer: boolean): void {
    let voteMsg: MessageType;
    let term: number;
    if (kind === 'pre-election') {
      this.becomePreCandidate();
      voteMsg = MessageType.MsgPreVote;
      // The term we would use; ours stays as it is until the pre-election is won.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.MsgVote;
      term = this.term;
    }
    if (this.poll(this.id, true) === VoteResult.Won) {
      // A single-voter cluster wins at once.
      if (kind === 'pre-election') this.campaign('election', false);
      else this.becomeLeader();
      return;
    }
    for (const id of this.prs.voters) {
      if (id === this.id) continue;
      this.send(newMessage({
        type: voteMsg,
        to: id,
        term,
        index: this.raftLog.lastIndex(),
        logTerm: this.raftLog.lastTerm(),
        context: transfer ? CAMPAIGN_TRANSFER : EMPTY_BYTES,
      }));
    }
  }

  private poll(id: number, granted: boolean): VoteResult {
    this.prs.recordVote(id, granted);
    return this.prs.tallyVotes().result;
  }

  // ---- step ------------------------------------------------------------------------------

  /** Processes one message. Returns false when a proposal or request was dropped. */
  stepInternal(m: Message): boolean {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
        const inLease = this.cfg.checkQuorum && this.lead !== NONE && this.electionElapsed < this.cfg.electionTick;
        // Heard from a live leader within the minimum election timeout: ignore disruptors.
        if (!force && inLease) return true;
      }
      if (m.type === MessageType.MsgPreVote) {
        // Never change our term on a pre-vote request.
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // The term bump happens when the pre-election is won.
      } else if (m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgSnap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      const fromLeader = m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp;
      if (fromLeader && (this.cfg.checkQuorum || this.cfg.preVote || !this.promotable())) {
        // A stale leader cut off from the cluster learns the new term from this and steps down
        // (otherwise, with pre-vote, it would never see a higher term). Without either, etcd
        // relies on this node's own higher-term campaign to lift everyone's term; a node that
        // cannot campaign (a learner, in its own view, whose term a removed member's vote
        // requests raised) would never rejoin, so it answers too.
        this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from }));
      } else if (m.type === MessageType.MsgPreVote || m.type === MessageType.MsgVote) {
        // The candidate learns our term (as the Raft paper's RequestVote reply has it; etcd
        // answers only pre-votes). Without it, a candidate that needs our vote, in a
        // configuration we do not know yet, may never reach our term: we never ask it.
        this.send(newMessage({ type: voteResponseType(m.type), to: m.from, term: this.term, reject: true }));
      }
      return true;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        this.hup(false);
        return true;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote: {
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === MessageType.MsgPreVote && m.term > this.term) ||
          (this.cfg.testingBugs.voteTwiceInTerm === true && m.type === MessageType.MsgVote && this.state !== StateType.Leader);
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          // Answer with the request's term: a pre-vote grant must carry the future term.
          this.send(newMessage({ type: voteResponseType(m.type), to: m.from, term: m.term }));
          if (m.type === MessageType.MsgVote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(newMessage({ type: voteResponseType(m.type), to: m.from, term: this.term, reject: true }));
          // Refused only because the candidate's log is behind ours.
          if (canVote) this.maybeCampaignAsRemoved(m.from);
        }
        return true;
      }
      default:
        return this.stepFn(m);
    }
  }

  private stepLeader(m: Message): boolean {
    switch (m.type) {
      case MessageType.MsgBeat:
        // Every heartbeat carries the read round in flight, as etcd's do: acks lost with a dropped
        // message or connection come again, instead of every later read waiting forever.
        this.bcastHeartbeat(this.removedAtIndex > 0 ? EMPTY_BYTES : (this.readOnly.inflightContext() ?? EMPTY_BYTES));
        return true;
      case MessageType.MsgCheckQuorum:
        if (!this.prs.quorumActive()) this.becomeFollower(this.term, NONE);
        for (const [id, pr] of this.prs.progress) {
          pr.activeLastRound = pr.recentActive;
          pr.recentActive = id === this.id;
        }
        return true;
      case MessageType.MsgProp:
        return this.handleProposal(m);
      case MessageType.MsgReadIndex:
        return this.handleReadIndex(m);
      default:
        break;
    }

    const pr = this.prs.progress.get(m.from);
    if (pr === undefined) return true;
    switch (m.type) {
      case MessageType.MsgAppResp:
        pr.recentActive = true;
        if (m.reject) {
          let nextProbe = m.rejectHint;
          if (m.logTerm > 0) nextProbe = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm);
          if (pr.maybeDecrTo(m.index, nextProbe)) {
            if (pr.state === ProgressState.Replicate) pr.becomeProbe();
            this.sendAppend(m.from);
          }
        } else {
          const wasPaused = pr.isPaused();
          if (pr.maybeUpdate(m.index)) {
            if (pr.state === ProgressState.Probe) pr.becomeReplicate();
            else if (pr.state === ProgressState.Snapshot && pr.match >= pr.pendingSnapshot) {
              pr.becomeProbe();
              pr.becomeReplicate();
            } else if (pr.state === ProgressState.Replicate) pr.inflights.freeLE(m.index);

            if (this.maybeCommit()) this.onCommitAdvanced();
            else if (wasPaused) this.sendAppend(m.from);
            // Fill the pipeline while the window allows.
            while (this.maybeSendAppend(m.from, false)) {
              /* keep sending */
            }
            if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(m.from);
          }
        }
        return true;
      case MessageType.MsgHeartbeatResp:
        pr.recentActive = true;
        pr.probeSent = false;
        if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
        if (pr.match < this.raftLog.lastIndex()) this.sendAppend(m.from);
        if (this.removedAtIndex > 0 && bytesEqual(m.context, HANDOFF_CONTEXT)) this.onHandoffAck(m.from);
        else if (m.context.length > 0) this.readOnly.recvAck(m.from, m.context, (done) => this.releaseReads(done));
        return true;
      case MessageType.MsgSnapStatus:
        if (pr.state !== ProgressState.Snapshot) return true;
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        // Wait for the follower's answer (or a heartbeat) before probing again.
        pr.probeSent = true;
        return true;
      case MessageType.MsgUnreachable:
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        return true;
      case MessageType.MsgTransferLeader: {
        if (pr.isLearner) return true;
        const transferee = m.from;
        if (this.leadTransferee !== NONE) {
          if (this.leadTransferee === transferee) return true;
          this.abortLeaderTransfer();
        }
        if (transferee === this.id) return true;
        // The transfer must finish within one election timeout.
        this.electionElapsed = 0;
        this.leadTransferee = transferee;
        if (pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(transferee);
        else this.sendAppend(transferee);
        return true;
      }
      default:
        return true;
    }
  }

  private handleProposal(m: Message): boolean {
    if (m.entries.length === 0) throw new Error('stepped empty MsgProp');
    if (!this.prs.progress.has(this.id)) return false; // removed from the cluster
    if (this.leadTransferee !== NONE) return false;
    let pendingConf = this.pendingConfIndex;
    for (let i = 0; i < m.entries.length; i++) {
      if (m.entries[i]!.type !== EntryType.ConfChange) continue;
      // One change at a time: refuse while the previous one is unapplied.
      if (pendingConf > this.raftLog.applied) return false;
      pendingConf = this.raftLog.lastIndex() + i + 1;
    }
    if (!this.appendEntries(m.entries)) return false;
    this.pendingConfIndex = pendingConf;
    this.bcastAppend();
    return true;
  }

  private appendEntries(es: readonly Entry[]): boolean {
    let size = 0;
    for (const e of es) size += e.data.length;
    // Always accept the leader's empty entry; otherwise bound what waits for commit.
    if (this.uncommittedSize > 0 && size > 0 && this.uncommittedSize + size > this.cfg.maxUncommittedEntriesSize) return false;
    this.uncommittedSize += size;
    const li = this.raftLog.lastIndex();
    const stamped = es.map((e, i) => ({ term: this.term, index: li + 1 + i, type: e.type, data: e.data }));
    this.raftLog.append(stamped);
    return true;
  }

  reduceUncommittedSize(ents: readonly Entry[]): void {
    if (this.uncommittedSize === 0) return;
    let size = 0;
    for (const e of ents) size += e.data.length;
    this.uncommittedSize = Math.max(0, this.uncommittedSize - size);
  }

  private stepCandidate(m: Message): boolean {
    const myVoteResp = this.state === StateType.PreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
    switch (m.type) {
      case MessageType.MsgProp:
      case MessageType.MsgReadIndex:
        return false;
      case MessageType.MsgApp:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return true;
      case MessageType.MsgHeartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return true;
      case MessageType.MsgSnap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return true;
      case myVoteResp: {
        const result = this.poll(m.from, !m.reject);
        if (result === VoteResult.Won) {
          if (this.state === StateType.PreCandidate) this.campaign('election', false);
          else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (result === VoteResult.Lost) {
          this.becomeFollower(this.term, NONE);
        }
        return true;
      }
      default:
        return true;
    }
  }

  private stepFollower(m: Message): boolean {
    switch (m.type) {
      case MessageType.MsgProp:
      case MessageType.MsgTransferLeader:
      case MessageType.MsgReadIndex:
        if (this.lead === NONE) return false;
        this.send({ ...m, to: this.lead });
        return true;
      case MessageType.MsgApp:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return true;
      case MessageType.MsgHeartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return true;
      case MessageType.MsgSnap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return true;
      case MessageType.MsgTimeoutNow:
        // The leader asks us to take over: campaign at once, skipping the pre-election.
        this.hup(true);
        return true;
      case MessageType.MsgReadIndexResp:
        this.readStates.push({ index: m.index, requestCtx: m.context });
        return true;
      default:
        return true;
    }
  }

  private handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from, index: this.raftLog.committed }));
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from, index: lastNew }));
      return;
    }
    // Tell the leader the largest index that could match, and its term, so it can skip back
    // over a whole term of conflicting entries in one round trip.
    const hintIndex = this.raftLog.findConflictByTerm(Math.min(m.index, this.raftLog.lastIndex()), m.logTerm);
    this.send(newMessage({
      type: MessageType.MsgAppResp,
      to: m.from,
      index: m.index,
      reject: true,
      rejectHint: hintIndex,
      logTerm: this.raftLog.term(hintIndex),
    }));
  }

  private handleHeartbeat(m: Message): void {
    // The leader sends min(match, commit): a commit beyond our log means we lost entries we
    // acknowledged. Fail loudly rather than go on with a log that broke its promise.
    if (m.commit > this.raftLog.lastIndex()) {
      throw new Error(`tocommit(${m.commit}) is out of range [lastIndex(${this.raftLog.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`);
    }
    this.raftLog.commitTo(m.commit);
    this.send(newMessage({ type: MessageType.MsgHeartbeatResp, to: m.from, context: m.context }));
  }

  private handleSnapshot(m: Message): void {
    const snap = m.snapshot!;
    if (this.restore(snap)) {
      this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from, index: this.raftLog.lastIndex() }));
    } else {
      this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from, index: this.raftLog.committed }));
    }
  }

  /** Installs a leader's snapshot. Returns false if it holds nothing new for us. */
  private restore(s: Snapshot): boolean {
    const { index, term } = s.metadata;
    if (index <= this.raftLog.committed) return false;
    if (this.state !== StateType.Follower) {
      // Only followers receive snapshots; anything else is a bug upstream of us.
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    if (this.raftLog.matchTerm(index, term)) {
      // We already have the entries: just fast-forward the commit.
      this.raftLog.commitTo(index);
      return false;
    }
    this.raftLog.restore(s);
    this.setConfig(s.metadata.confState);
    this.configIndex = index;
    return true;
  }

  // ---- leader transfer -------------------------------------------------------------------

  private sendTimeoutNow(to: number): void {
    this.send(newMessage({ type: MessageType.MsgTimeoutNow, to }));
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- ReadIndex -------------------------------------------------------------------------

  private committedEntryInCurrentTerm(): boolean {
    return this.raftLog.term(this.raftLog.committed) === this.term;
  }

  private handleReadIndex(m: Message): boolean {
    const request: ReadRequest = { from: m.from === NONE ? this.id : m.from, ctx: m.context };
    if (!this.committedEntryInCurrentTerm()) {
      // Until this term's first entry commits, our commit index may be behind the cluster's,
      // even alone: a removed leader may have committed more with us than we have heard of.
      if (this.pendingReadIndexMessages.length >= this.cfg.maxPendingReadIndex) return false;
      this.pendingReadIndexMessages.push(m);
      return true;
    }
    if (this.prs.voters.length === 1 && this.prs.isVoter(this.id)) {
      // Alone, with an entry of our term committed: our commit index is the cluster's.
      this.answerRead(request, this.raftLog.committed);
      return true;
    }
    if (!this.readOnly.enqueue(request)) return false;
    this.maybeStartReadRound();
    return true;
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const pending = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of pending) this.handleReadIndex(m);
  }

  /** Starts a heartbeat round for every queued request, unless one is already in flight. */
  private maybeStartReadRound(): void {
    const round = this.readOnly.startRound(this.raftLog.committed);
    if (round === undefined) return;
    this.readOnly.recvAck(this.id, round, (done) => this.releaseReads(done));
    this.bcastHeartbeat(round);
  }

  private releaseReads(done: { index: number; requests: ReadRequest[] }): void {
    for (const r of done.requests) this.answerRead(r, done.index);
    // Requests that queued while this round was in flight go out in the next one.
    this.maybeStartReadRound();
  }

  private answerRead(r: ReadRequest, index: number): void {
    if (r.from === this.id) this.readStates.push({ index, requestCtx: r.ctx });
    else this.send(newMessage({ type: MessageType.MsgReadIndexResp, to: r.from, index, context: r.ctx }));
  }
}
