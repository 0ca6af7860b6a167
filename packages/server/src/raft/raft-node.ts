import { encodeConfChange } from './confchange.js';
import { RaftError } from './errors.js';
import { Raft, type OutgoingMessage, type RaftConfig } from './raft.js';
import {
  EntryType,
  MessageType,
  NONE,
  isLocalMessage,
  isResponseMessage,
  newMessage,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type ReadState,
  type Snapshot,
  type SoftState,
  type StateType,
} from './types.js';

/**
 * Everything the application must do after a round of input, in this order:
 *
 * 1. Persist `snapshot` (if any), then `entries`, then `hardState` (if any). When `mustSync`,
 *    the write must be durable (fsync) before step 2's waiting messages and step 3.
 * 2. Send `messages`. Those with `waitForPersistence: false` may be sent before step 1
 *    finishes; the others only after it is durable.
 * 3. Apply `snapshot` to the state machine, then `committedEntries` in order. They are
 *    always entries already durable here (from earlier Readies).
 * 4. Serve `readStates`: each read is linearizable once the applied index reaches its index.
 * 5. Call `advance(ready)`. Only then may `ready()` be called again (tick and step may be
 *    called at any time in between).
 */
export interface Ready {
  /** Set when the leader or role changed; volatile, never persisted. */
  readonly softState?: SoftState;
  /** Set when term, vote or commit changed. */
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly OutgoingMessage[];
  readonly readStates: readonly ReadState[];
  /** Whether step 1 needs fsync: new entries, a snapshot, or a changed term or vote. */
  readonly mustSync: boolean;
}

export interface Status {
  readonly id: number;
  readonly hardState: HardState;
  readonly softState: SoftState;
  readonly applied: number;
  readonly confState: ConfState;
  readonly leadTransferee: number;
  /** The leader's view of each member, e.g. "StateReplicate match=12 next=13". Empty elsewhere. */
  readonly progress: ReadonlyMap<number, string>;
}

/** For status pages, tests and the simulator's checkers; never used to make decisions. */
export interface LogView {
  firstIndex(): number;
  lastIndex(): number;
  committed(): number;
  /** undefined when compacted away or beyond the end. */
  term(index: number): number | undefined;
  /** Entries [lo, hi); throws ErrCompacted below firstIndex(). */
  entries(lo: number, hi: number): Entry[];
}

/**
 * The application's handle on one Raft node: synchronous, deterministic, no I/O.
 * Feed it with tick()/step()/propose...; drain it with ready()/advance().
 */
export class RaftNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private outstanding: Ready | undefined = undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.softState();
    this.prevHardState = this.hardState();
  }

  /** Advances logical time by one tick (elections, heartbeats, check-quorum). */
  tick(): void {
    this.raft.tick();
  }

  /** Delivers a message from a peer. Local message types are refused. */
  step(m: Message): void {
    if (isLocalMessage(m.type)) throw new RaftError('ErrStepLocalMsg');
    // A response from a node no longer in the configuration is meaningless.
    if (isResponseMessage(m.type) && !this.raft.prs.progress.has(m.from)) return;
    this.raft.stepInternal(m);
  }

  /** Starts an election now (as if the election timeout had elapsed). */
  campaign(): void {
    this.raft.stepInternal(newMessage({ type: MessageType.MsgHup, from: this.raft.id }));
  }

  /**
   * Proposes `data` for the log. Throws RaftError ErrProposalDropped when there is no leader
   * to take it, a leader transfer is under way, or the uncommitted backlog is full. Success
   * means only "accepted for now": it is committed when it shows up in committedEntries.
   */
  propose(data: Uint8Array): void {
    this.stepProposal([{ term: 0, index: 0, type: EntryType.Normal, data }]);
  }

  /**
   * Proposes a single-server membership change. Refused (ErrProposalDropped) while a previous
   * change is not yet applied by the leader. It takes effect on every node when applied, which
   * this node does itself in advance().
   */
  proposeConfChange(cc: ConfChange): void {
    this.stepProposal([{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }]);
  }

  private stepProposal(entries: Entry[]): void {
    const ok = this.raft.stepInternal(newMessage({ type: MessageType.MsgProp, from: this.raft.id, entries }));
    if (!ok) throw new RaftError('ErrProposalDropped', this.raft.lead === NONE ? 'no leader' : undefined);
  }

  /**
   * Asks for a linearizable read point. The answer arrives as a ReadState with the same
   * `ctx` in a later Ready; requests are batched into heartbeat rounds. Throws
   * ErrProposalDropped when no leader is known; a request lost to a leader change gets no
   * answer, so callers use a timeout.
   */
  readIndex(ctx: Uint8Array): void {
    const ok = this.raft.stepInternal(newMessage({ type: MessageType.MsgReadIndex, from: NONE, context: ctx }));
    if (!ok) throw new RaftError('ErrProposalDropped', this.raft.lead === NONE ? 'no leader' : 'read index dropped');
  }

  /** Asks the leader to hand leadership to `transferee` (forwarded if we are a follower). */
  transferLeader(transferee: number): void {
    this.raft.stepInternal(newMessage({ type: MessageType.MsgTransferLeader, from: transferee, to: this.raft.id }));
  }

  /** The transport could not reach `id`: stop optimistic pipelining to it. */
  reportUnreachable(id: number): void {
    this.raft.stepInternal(newMessage({ type: MessageType.MsgUnreachable, from: id }));
  }

  /** The outcome of sending a MsgSnap to `id`. Must be called for every MsgSnap sent. */
  reportSnapshot(id: number, ok: boolean): void {
    this.raft.stepInternal(newMessage({ type: MessageType.MsgSnapStatus, from: id, reject: !ok }));
  }

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    const r = this.raft;
    if (!sameSoftState(this.softState(), this.prevSoftState)) return true;
    if (!sameHardState(this.hardState(), this.prevHardState)) return true;
    if (r.raftLog.unstable.nextSnapshot() !== undefined) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.raftLog.unstable.nextEntries().length > 0) return true;
    return r.raftLog.hasNextCommittedEntries(r.raftLog.applied);
  }

  /** Collects the current obligations. Call advance() with the result before the next ready(). */
  ready(): Ready {
    if (this.outstanding !== undefined) throw new Error('ready() called again before advance()');
    const r = this.raft;
    const soft = this.softState();
    const hard = this.hardState();
    const entries = r.raftLog.unstable.nextEntries();
    const snapshot = r.raftLog.unstable.nextSnapshot();
    const rd: Ready = {
      ...(sameSoftState(soft, this.prevSoftState) ? {} : { softState: soft }),
      ...(sameHardState(hard, this.prevHardState) ? {} : { hardState: hard }),
      entries,
      ...(snapshot === undefined ? {} : { snapshot }),
      committedEntries: r.raftLog.nextCommittedEntries(r.raftLog.applied),
      messages: r.msgs,
      readStates: r.readStates,
      // A snapshot is acknowledged like entries are, so it must be durable first too.
      mustSync:
        entries.length > 0 || snapshot !== undefined || hard.term !== this.prevHardState.term || hard.vote !== this.prevHardState.vote,
    };
    r.msgs = [];
    r.readStates = [];
    r.raftLog.unstable.acceptInProgress();
    this.prevSoftState = soft;
    this.prevHardState = hard;
    this.outstanding = rd;
    return rd;
  }

  /** Acknowledges that `rd` was carried out (persisted, sent, applied). */
  advance(rd: Ready): void {
    if (rd !== this.outstanding) throw new Error('advance() with a Ready that is not the outstanding one');
    this.outstanding = undefined;
    const r = this.raft;
    if (rd.snapshot !== undefined) {
      r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
      r.raftLog.applied = Math.max(r.raftLog.applied, rd.snapshot.metadata.index);
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      r.raftLog.stableTo(last.index, last.term);
    }
    if (rd.committedEntries.length > 0) {
      r.raftLog.appliedTo(rd.committedEntries[rd.committedEntries.length - 1]!.index);
      for (const e of rd.committedEntries) if (e.type === EntryType.ConfChange) r.applyConfChangeEntry(e);
      r.reduceUncommittedSize(rd.committedEntries);
    }
    r.onPersisted();
  }

  status(): Status {
    const r = this.raft;
    const progress = new Map<number, string>();
    if (r.state === 'Leader') for (const id of r.prs.memberIds()) progress.set(id, r.prs.progress.get(id)!.describe());
    return {
      id: r.id,
      hardState: this.hardState(),
      softState: this.softState(),
      applied: r.raftLog.applied,
      confState: r.prs.confState(),
      leadTransferee: r.leadTransferee,
      progress,
    };
  }

  /**
   * On the leader: how far `id`'s log matches the leader's and whether it was heard from within
   * the last election timeout (for membership checks). Undefined on followers or for non-members.
   */
  progressOf(id: number): { readonly match: number; readonly recentActive: boolean; readonly activeLastRound: boolean; readonly probing: boolean } | undefined {
    if (this.raft.state !== 'Leader') return undefined;
    const pr = this.raft.prs.progress.get(id);
    return pr === undefined ? undefined : { match: pr.match, recentActive: pr.recentActive, activeLastRound: pr.activeLastRound, probing: pr.state === 'StateProbe' };
  }

  get id(): number {
    return this.raft.id;
  }

  get state(): StateType {
    return this.raft.state;
  }

  get lead(): number {
    return this.raft.lead;
  }

  get term(): number {
    return this.raft.term;
  }

  /** A read-only view of the local log, durable and unpersisted parts together. */
  logView(): LogView {
    const log = this.raft.raftLog;
    return {
      firstIndex: () => log.firstIndex(),
      lastIndex: () => log.lastIndex(),
      committed: () => log.committed,
      term: (index) => log.termOrUndefined(index),
      entries: (lo, hi) => log.slice(lo, hi, Number.MAX_SAFE_INTEGER),
    };
  }

  /** The configuration in force here (changes apply when their entry is applied). */
  confState(): ConfState {
    return this.raft.prs.confState();
  }

  private softState(): SoftState {
    return { lead: this.raft.lead, state: this.raft.state };
  }

  private hardState(): HardState {
    return { term: this.raft.term, vote: this.raft.vote, commit: this.raft.raftLog.committed };
  }
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.state === b.state;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
