import { describe, expect, it } from 'vitest';
import { ProgressTracker } from '../../src/raft/tracker.js';
import { ProgressState } from '../../src/raft/progress.js';
import { VoteResult } from '../../src/raft/quorum.js';

function tracker(voters: number[], learners: number[] = [], next = 5): ProgressTracker {
  const t = new ProgressTracker(8);
  t.setConfig({ voters, learners }, next);
  return t;
}

describe('ProgressTracker.setConfig', () => {
  it('creates progress for every member at `next`, marked active', () => {
    const t = tracker([3, 1, 2], [7]);
    expect(t.voters).toEqual([1, 2, 3]);
    expect(t.learners).toEqual([7]);
    expect(t.memberIds()).toEqual([1, 2, 3, 7]);
    for (const id of [1, 2, 3, 7]) {
      const pr = t.progress.get(id)!;
      expect(pr.next).toBe(5);
      expect(pr.match).toBe(0);
      expect(pr.state).toBe(ProgressState.Probe);
      // New members must not trip check-quorum before they had a chance to answer.
      expect(pr.recentActive).toBe(true);
      expect(pr.inflights.capacity).toBe(8);
    }
    expect(t.progress.get(7)!.isLearner).toBe(true);
    expect(t.progress.get(1)!.isLearner).toBe(false);
  });

  it('drops progress of removed members and keeps the others untouched', () => {
    const t = tracker([1, 2, 3]);
    const pr2 = t.progress.get(2)!;
    pr2.match = 4;
    t.setConfig({ voters: [1, 2], learners: [] }, 9);
    expect(t.memberIds()).toEqual([1, 2]);
    expect(t.progress.has(3)).toBe(false);
    expect(t.progress.get(2)).toBe(pr2);
    expect(pr2.match).toBe(4);
    expect(pr2.next).toBe(5);
  });

  it('a promoted learner keeps its replication state', () => {
    const t = tracker([1], [2]);
    const pr = t.progress.get(2)!;
    pr.becomeReplicate();
    pr.match = 6;
    t.setConfig({ voters: [1, 2], learners: [] }, 20);
    expect(t.progress.get(2)).toBe(pr);
    expect(pr.isLearner).toBe(false);
    expect(pr.state).toBe(ProgressState.Replicate);
    expect(pr.match).toBe(6);
  });

  it('does not alias the ConfState arrays', () => {
    const voters = [2, 1];
    const t = new ProgressTracker(4);
    t.setConfig({ voters, learners: [] }, 1);
    voters.push(3);
    expect(t.voters).toEqual([1, 2]);
  });
});

describe('ProgressTracker queries', () => {
  it('confState returns sorted copies', () => {
    const t = tracker([3, 1], [5, 4]);
    const c = t.confState();
    expect(c).toEqual({ voters: [1, 3], learners: [4, 5] });
    (c.voters as number[]).push(99);
    expect(t.voters).toEqual([1, 3]);
  });

  it('isVoter is false for learners and strangers', () => {
    const t = tracker([1, 2], [3]);
    expect(t.isVoter(1)).toBe(true);
    expect(t.isVoter(3)).toBe(false);
    expect(t.isVoter(9)).toBe(false);
  });

  it('committed() is the quorum match of voters only', () => {
    const t = tracker([1, 2, 3], [4]);
    t.progress.get(1)!.match = 10;
    t.progress.get(2)!.match = 7;
    t.progress.get(3)!.match = 3;
    t.progress.get(4)!.match = 100;
    expect(t.committed()).toBe(7);
    // A learner far ahead cannot help two lagging voters.
    t.progress.get(1)!.match = 2;
    expect(t.committed()).toBe(3);
  });

  it('quorumActive counts recently active voters only', () => {
    const t = tracker([1, 2, 3], [4]);
    for (const pr of t.progress.values()) pr.recentActive = false;
    t.progress.get(1)!.recentActive = true;
    t.progress.get(4)!.recentActive = true;
    expect(t.quorumActive()).toBe(false);
    t.progress.get(3)!.recentActive = true;
    expect(t.quorumActive()).toBe(true);
  });
});

describe('ProgressTracker votes', () => {
  it('records only the first vote of each node', () => {
    const t = tracker([1, 2, 3]);
    t.recordVote(1, true);
    t.recordVote(2, false);
    t.recordVote(2, true); // a duplicate or flipped answer does not count
    expect(t.tallyVotes()).toEqual({ granted: 1, rejected: 1, result: VoteResult.Pending });
    t.recordVote(3, true);
    expect(t.tallyVotes()).toEqual({ granted: 2, rejected: 1, result: VoteResult.Won });
  });

  it('ignores votes from learners and strangers', () => {
    const t = tracker([1, 2, 3], [4]);
    t.recordVote(1, true);
    t.recordVote(4, true);
    t.recordVote(9, true);
    expect(t.tallyVotes()).toEqual({ granted: 1, rejected: 0, result: VoteResult.Pending });
  });

  it('detects a lost election', () => {
    const t = tracker([1, 2, 3]);
    t.recordVote(1, true);
    t.recordVote(2, false);
    t.recordVote(3, false);
    expect(t.tallyVotes().result).toBe(VoteResult.Lost);
  });

  it('resetVotes starts a new election', () => {
    const t = tracker([1, 2, 3]);
    t.recordVote(2, false);
    t.resetVotes();
    t.recordVote(2, true);
    expect(t.tallyVotes().granted).toBe(1);
  });
});
