import type { raft } from '@kvfleet/server';
import { chain, decodeProposal, fingerprint, type SimState } from './state-machine.js';

export type ViolationKind =
  | 'election-safety'
  | 'log-matching'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'acknowledged-write-lost'
  | 'stale-read'
  | 'liveness'
  | 'runaway'
  | 'raft-panic';

export class SimViolation extends Error {
  constructor(
    readonly kind: ViolationKind,
    detail: string,
  ) {
    super(`${kind}: ${detail}`);
    this.name = 'SimViolation';
  }
}

/**
 * The safety properties of Raft (Figure 3 of the paper) plus linearizable reads, checked from
 * outside the nodes against one global record of what was committed. Every check throws
 * SimViolation at the first breach, so the run stops where the bug shows.
 */
export class Checkers {
  /** term → the one node that led it. */
  private readonly leaders = new Map<number, number>();
  /** `${index}/${term}` → fingerprint of the entry some node persisted there. */
  private readonly persisted = new Map<string, number>();
  /** The committed history as applied: fingerprint, chained hash and proposal id per index. */
  private readonly history: number[] = [];
  private readonly hashAt: number[] = [];
  private readonly proposalAt: (number | undefined)[] = [];
  /** Index of every acknowledged proposal, and the highest of them. */
  private readonly acked = new Map<number, number>();
  private maxAckedIndex = 0;

  constructor(bootstrapIndex: number) {
    this.hashAt[bootstrapIndex] = 0;
  }

  // ---- election safety: at most one leader per term (§5.2) ----

  onLeader(id: number, term: number, log: raft.LogView): void {
    const prev = this.leaders.get(term);
    if (prev === undefined) {
      this.leaders.set(term, id);
      this.checkLeaderCompleteness(id, term, log);
    } else if (prev !== id) {
      throw new SimViolation('election-safety', `term ${term} has two leaders: ${prev} and ${id}`);
    }
  }

  leaderCount(): number {
    return this.leaders.size;
  }

  // ---- leader completeness: a new leader holds every committed entry (§5.4) ----

  private checkLeaderCompleteness(id: number, term: number, log: raft.LogView): void {
    const committed = this.history.length - 1;
    if (committed < 1) return;
    if (log.lastIndex() < committed) {
      throw new SimViolation('leader-completeness', `leader ${id} of term ${term} has log up to ${log.lastIndex()}, but ${committed} is committed`);
    }
    const from = Math.max(log.firstIndex(), 2);
    if (from > committed) return;
    const ents = log.entries(from, committed + 1);
    for (const e of ents) {
      const want = this.history[e.index];
      if (want !== undefined && fingerprint(e) !== want) {
        throw new SimViolation('leader-completeness', `leader ${id} of term ${term} has a different entry at committed index ${e.index} (term ${e.term})`);
      }
    }
  }

  // ---- log matching: same index and term → same entry, and same log before it (§5.3) ----

  onPersist(id: number, entries: readonly raft.Entry[]): void {
    for (const e of entries) {
      const key = `${e.index}/${e.term}`;
      const fp = fingerprint(e);
      const prev = this.persisted.get(key);
      if (prev === undefined) this.persisted.set(key, fp);
      else if (prev !== fp) {
        throw new SimViolation('log-matching', `node ${id} persisted a different entry at index ${e.index} term ${e.term}`);
      }
    }
  }

  /** Two logs that agree on an entry's term agree on every entry before it. */
  compareLogs(a: { id: number; log: raft.LogView }, b: { id: number; log: raft.LogView }): void {
    const lo = Math.max(a.log.firstIndex(), b.log.firstIndex());
    const hi = Math.min(a.log.lastIndex(), b.log.lastIndex());
    if (lo > hi) return;
    const ea = a.log.entries(lo, hi + 1);
    const eb = b.log.entries(lo, hi + 1);
    let top = -1;
    for (let i = ea.length - 1; i >= 0; i--) {
      if (ea[i]!.term === eb[i]!.term) {
        top = i;
        break;
      }
    }
    for (let i = 0; i <= top; i++) {
      if (fingerprint(ea[i]!) !== fingerprint(eb[i]!)) {
        throw new SimViolation(
          'log-matching',
          `nodes ${a.id} and ${b.id} agree at index ${ea[top]!.index} term ${ea[top]!.term} but differ at ${ea[i]!.index}`,
        );
      }
    }
  }

  // ---- state machine safety: every node applies a prefix of one history (§5.4.3) ----

  onApply(id: number, state: SimState, e: raft.Entry): void {
    if (e.index !== state.applied + 1) {
      throw new SimViolation('state-machine-safety', `node ${id} applied ${e.index} right after ${state.applied}`);
    }
    const fp = fingerprint(e);
    const want = this.history[e.index];
    if (want === undefined) {
      this.history[e.index] = fp;
      this.proposalAt[e.index] = decodeProposal(e);
    } else if (want !== fp) {
      throw new SimViolation('state-machine-safety', `node ${id} applied a different entry at index ${e.index} (term ${e.term})`);
    }
    state.applied = e.index;
    state.hash = chain(state.hash, fp);
    const h = this.hashAt[e.index];
    if (h === undefined) this.hashAt[e.index] = state.hash;
    else if (h !== state.hash) {
      throw new SimViolation('state-machine-safety', `node ${id} reached a different state at index ${e.index}`);
    }
  }

  onSnapshotInstalled(id: number, state: SimState): void {
    const h = this.hashAt[state.applied];
    if (h === undefined) {
      throw new SimViolation('state-machine-safety', `node ${id} installed a snapshot at ${state.applied}, which nobody applied`);
    }
    if (h !== state.hash) {
      throw new SimViolation('state-machine-safety', `node ${id} installed a snapshot at ${state.applied} with a different state`);
    }
  }

  // ---- acknowledged proposals survive everything ----

  onAck(proposalId: number, index: number): void {
    this.acked.set(proposalId, index);
    if (index > this.maxAckedIndex) this.maxAckedIndex = index;
  }

  ackedCount(): number {
    return this.acked.size;
  }

  /** At the end: every acknowledged proposal is in the history, and every node reached it. */
  checkAckedKept(nodes: readonly { id: number; applied: number }[]): void {
    for (const [proposal, index] of this.acked) {
      if (this.proposalAt[index] !== proposal) {
        throw new SimViolation('acknowledged-write-lost', `proposal ${proposal} acknowledged at index ${index} is not in the history`);
      }
      for (const n of nodes) {
        if (n.applied < index) {
          throw new SimViolation('acknowledged-write-lost', `node ${n.id} ended at ${n.applied}, before acknowledged proposal ${proposal} at ${index}`);
        }
      }
    }
  }

  // ---- linearizable reads: a read index covers every write acknowledged before the read began ----

  /** The highest index of an acknowledged proposal: the bound a read that starts now must reach. */
  maxAcknowledgedIndex(): number {
    return this.maxAckedIndex;
  }

  onReadIndex(readId: number, node: number, index: number, floor: number): void {
    if (index < floor) {
      throw new SimViolation('stale-read', `read ${readId} on node ${node} got index ${index}, but ${floor} was acknowledged before it began`);
    }
  }

  hashAtIndex(index: number): number | undefined {
    return this.hashAt[index];
  }
}
