/**
 * Runs a {@link RaftNode} against real time, disk and network: ticks it, feeds it messages
 * and proposals, and carries out each Ready in the order the contract requires (docs/raft.md):
 * send what may go early, persist, send the rest, hand committed work to the state machine,
 * advance. One Ready is in progress at a time; input arriving meanwhile is stepped at once and
 * picked up by the next round.
 *
 * Applying is pipelined: committed entries join an ordered queue that the state machine
 * drains while this Ready persists and Raft goes on with the next one, as etcd does. Entries
 * that queued up while an apply was running go to the state machine together (up to
 * {@link MAX_APPLY_BATCH}), so a burst shares one backend commit. The queue is bounded: past {@link MAX_APPLY_BACKLOG} entries the
 * driver waits for it before taking another Ready.
 */
import type { RaftNode, Ready } from '../raft/raft-node.js';
import { MessageType, isEmptySnapshot, type Entry, type Message, type ReadState, type Snapshot, type SoftState } from '../raft/types.js';
import type { MemberStorage } from '../storage/member-storage.js';
import type { MemberTestingBugs } from './member-config.js';

/** Sends Raft messages to peers; never blocks and never throws for an unreachable peer. */
export interface RaftTransport {
  send(messages: Message[]): void;
}

/** What applies committed work; calls arrive one at a time, in log order. */
export interface StateMachine {
  /** Replaces the state with a snapshot received from the leader (its image already stored). */
  applySnapshot(snapshot: Snapshot): Promise<void>;
  /** Applies committed entries in order; resolves once their effects are durable. */
  applyEntries(entries: readonly Entry[]): Promise<void>;
}

export interface RaftDriverHooks {
  /** Leader or role changed. */
  onSoftState?(state: SoftState): void;
  /** Linearizable read points became known. */
  onReadStates?(states: readonly ReadState[]): void;
  /** Outgoing messages are about to be sent: lets the server attach snapshot images. */
  beforeSend?(messages: Message[]): Message[];
  /** A step of the loop failed: persistence or apply errors are fatal for a member. */
  onFatal(error: unknown): void;
}

/** Committed entries queued for the state machine beyond which the driver stops taking Readies. */
export const MAX_APPLY_BACKLOG = 10_000;

/** Most queued entries handed to the state machine in one call. */
export const MAX_APPLY_BATCH = 1_024;

type ApplyWork = { readonly snapshot: Snapshot } | { readonly entries: readonly Entry[] };

export class RaftDriver {
  private running = false;
  private stopped = false;
  private readonly applyQueue: ApplyWork[] = [];
  /** The running drain of {@link applyQueue}, if any. */
  private applying: Promise<void> | undefined;
  /** True while drainApplies runs (cleared by the drain itself, so no work is left stranded). */
  private draining = false;
  /** An apply failed: nothing after it may ever be applied (it would skip the failed entries). */
  private applyFailed = false;
  private applyBacklog = 0;
  private applied: number;
  private readonly appliedWaiters: { index: number; resolve: () => void }[] = [];

  constructor(
    readonly node: RaftNode,
    private readonly storage: MemberStorage,
    private readonly transport: RaftTransport,
    private readonly stateMachine: StateMachine,
    private readonly hooks: RaftDriverHooks,
    appliedIndex: number,
    /** Deliberate bugs for the simulator's checker proofs (MemberConfig.testingBugs). */
    private readonly testingBugs: Pick<MemberTestingBugs, 'unsyncedWal'> = {},
  ) {
    this.applied = appliedIndex;
  }

  /** Index of the last entry whose effects the state machine has made durable. */
  get appliedIndex(): number {
    return this.applied;
  }

  tick(): void {
    this.node.tick();
    this.kick();
  }

  step(m: Message): void {
    this.node.step(m);
    this.kick();
  }

  /** Runs `fn` against the node (propose, readIndex, ...) and then processes what it produced. */
  withNode<T>(fn: (node: RaftNode) => T): T {
    try {
      return fn(this.node);
    } finally {
      this.kick();
    }
  }

  /** Resolves once the applied index reaches `index`. */
  waitApplied(index: number): Promise<void> {
    if (this.applied >= index) return Promise.resolve();
    return new Promise((resolve) => {
      this.appliedWaiters.push({ index, resolve });
    });
  }

  /** Stops taking Readies and waits for queued applies to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.applying;
  }

  /** Processes Readies until there are none, unless a round is already under way. */
  kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped && this.node.hasReady()) {
        if (this.applyBacklog > MAX_APPLY_BACKLOG) await this.applying;
        await this.process(this.node.ready());
      }
    } catch (e) {
      this.stopped = true;
      this.hooks.onFatal(e);
    } finally {
      // Here, not in a .finally() a turn later: a kick() in between would find the loop
      // "running" and its Ready would wait for the next tick.
      this.running = false;
    }
  }

  private async process(rd: Ready): Promise<void> {
    if (rd.softState !== undefined) this.hooks.onSoftState?.(rd.softState);
    const early: Message[] = [];
    const late: Message[] = [];
    for (const out of rd.messages) (out.waitForPersistence ? late : early).push(out.message);
    this.send(early);
    const snapshot = rd.snapshot !== undefined && !isEmptySnapshot(rd.snapshot) ? rd.snapshot : undefined;
    // Committed entries are durable already (the Ready contract), so, as in etcd, they are
    // applied while this Ready's own writes persist; a snapshot must be stored before either.
    if (snapshot === undefined && rd.committedEntries.length > 0) this.enqueueApply({ entries: rd.committedEntries });
    // The unsyncedWal bug: entries are acknowledged (and counted for commit) before they are durable.
    await this.storage.persist(rd.snapshot, rd.entries, rd.hardState, rd.mustSync, this.testingBugs.unsyncedWal === true);
    this.send(late);
    if (snapshot !== undefined) {
      this.enqueueApply({ snapshot });
      if (rd.committedEntries.length > 0) this.enqueueApply({ entries: rd.committedEntries });
    }
    if (rd.readStates.length > 0) this.hooks.onReadStates?.(rd.readStates);
    this.node.advance(rd);
  }

  private send(messages: Message[]): void {
    if (messages.length === 0) return;
    const out = this.hooks.beforeSend === undefined ? messages : this.hooks.beforeSend(messages);
    this.transport.send(out);
  }

  private enqueueApply(work: ApplyWork): void {
    if (this.applyFailed) return;
    if ('entries' in work) this.applyBacklog += work.entries.length;
    this.applyQueue.push(work);
    if (this.draining) return;
    this.draining = true;
    this.applying = this.drainApplies();
  }

  /** Applies queued work in order; after a failure (reported through onFatal) nothing more. */
  private async drainApplies(): Promise<void> {
    try {
      while (this.applyQueue.length > 0) {
        const head = this.applyQueue[0]!;
        if ('snapshot' in head) {
          this.applyQueue.shift();
          await this.stateMachine.applySnapshot(head.snapshot);
          this.markApplied(head.snapshot.metadata.index);
          continue;
        }
        const entries: Entry[] = [];
        while (this.applyQueue.length > 0) {
          const next = this.applyQueue[0]!;
          if (!('entries' in next) || (entries.length > 0 && entries.length + next.entries.length > MAX_APPLY_BATCH)) break;
          this.applyQueue.shift();
          for (const e of next.entries) entries.push(e);
        }
        try {
          await this.stateMachine.applyEntries(entries);
        } finally {
          this.applyBacklog -= entries.length;
        }
        this.markApplied(entries[entries.length - 1]!.index);
      }
    } catch (e) {
      this.applyFailed = true;
      this.stopped = true;
      this.applyQueue.length = 0;
      try {
        this.hooks.onFatal(e);
      } catch {
        // The member is going down either way.
      }
    } finally {
      this.draining = false;
    }
  }

  private markApplied(index: number): void {
    if (index <= this.applied) return;
    this.applied = index;
    let kept = 0;
    for (const w of this.appliedWaiters) {
      if (w.index <= index) w.resolve();
      else this.appliedWaiters[kept++] = w;
    }
    this.appliedWaiters.length = kept;
  }
}

/** True for messages that carry a snapshot and so need the backend image streamed with them. */
export function isSnapshotMessage(m: Message): boolean {
  return m.type === MessageType.MsgSnap;
}
