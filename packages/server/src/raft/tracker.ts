import { Progress } from './progress.js';
import { committedIndex, isQuorum, voteResult, type VoteResult } from './quorum.js';
import type { ConfState } from './types.js';

/**
 * The current configuration (voters and learners) with the leader's view of each member's
 * replication progress, and the votes of the election in progress.
 */
export class ProgressTracker {
  voters: number[] = [];
  learners: number[] = [];
  readonly progress = new Map<number, Progress>();
  readonly votes = new Map<number, boolean>();
  /** Every member (voters and learners), sorted; rebuilt only when the configuration changes. */
  private members: readonly number[] = [];

  constructor(readonly maxInflight: number) {}

  confState(): ConfState {
    return { voters: [...this.voters].sort((a, b) => a - b), learners: [...this.learners].sort((a, b) => a - b) };
  }

  isVoter(id: number): boolean {
    return this.voters.includes(id);
  }

  /** Sets voters and learners, creating progress for new members at `next`. */
  setConfig(cs: ConfState, next: number): void {
    this.voters = [...cs.voters].sort((a, b) => a - b);
    this.learners = [...cs.learners].sort((a, b) => a - b);
    const members = new Set([...this.voters, ...this.learners]);
    this.members = [...members].sort((a, b) => a - b);
    for (const id of [...this.progress.keys()]) if (!members.has(id)) this.progress.delete(id);
    for (const id of members) {
      const isLearner = this.learners.includes(id);
      const p = this.progress.get(id);
      if (p === undefined) {
        const np = new Progress(next, this.maxInflight, isLearner);
        // A new member counts as active so that check-quorum does not trip on it at once.
        np.recentActive = true;
        this.progress.set(id, np);
      } else {
        // Promotion keeps the replication state; only the role flips.
        p.isLearner = isLearner;
      }
    }
  }

  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  quorumActive(): boolean {
    return isQuorum(this.voters, (id) => this.progress.get(id)?.recentActive ?? false);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: number, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.voters, this.votes) };
  }

  /** Ids of every member, sorted, for deterministic iteration. */
  memberIds(): readonly number[] {
    return this.members;
  }
}
