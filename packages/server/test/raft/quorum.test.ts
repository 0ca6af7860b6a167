import { describe, expect, it } from 'vitest';
import { VoteResult, committedIndex, isQuorum, voteResult } from '../../src/raft/quorum.js';

/** An `acked` lookup backed by a plain record; unknown ids have acknowledged nothing. */
function acks(m: Record<number, number>): (id: number) => number {
  return (id) => m[id] ?? 0;
}

function votes(entries: Array<[number, boolean]>): Map<number, boolean> {
  return new Map(entries);
}

describe('committedIndex', () => {
  it('an empty voter set never blocks', () => {
    expect(committedIndex([], acks({}))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('one voter: its own acknowledgement', () => {
    expect(committedIndex([1], acks({ 1: 5 }))).toBe(5);
    expect(committedIndex([1], acks({}))).toBe(0);
  });

  it('two voters: both are needed, so the smaller one', () => {
    expect(committedIndex([1, 2], acks({ 1: 9, 2: 5 }))).toBe(5);
    expect(committedIndex([1, 2], acks({ 1: 5, 2: 9 }))).toBe(5);
    expect(committedIndex([1, 2], acks({ 1: 9 }))).toBe(0);
  });

  it('three voters: the documented example (5, 7, 9 → 7)', () => {
    expect(committedIndex([1, 2, 3], acks({ 1: 5, 2: 7, 3: 9 }))).toBe(7);
    // Order of voters and values does not matter.
    expect(committedIndex([3, 1, 2], acks({ 1: 9, 2: 5, 3: 7 }))).toBe(7);
    // One silent voter does not block the other two.
    expect(committedIndex([1, 2, 3], acks({ 1: 4, 2: 4 }))).toBe(4);
    // Two silent voters do.
    expect(committedIndex([1, 2, 3], acks({ 1: 4 }))).toBe(0);
  });

  it('four voters: three are needed', () => {
    // Sorted descending 9, 7, 5, 3: the third largest is held by three voters.
    expect(committedIndex([1, 2, 3, 4], acks({ 1: 3, 2: 5, 3: 7, 4: 9 }))).toBe(5);
    // Two far ahead are not enough.
    expect(committedIndex([1, 2, 3, 4], acks({ 1: 100, 2: 100 }))).toBe(0);
    expect(committedIndex([1, 2, 3, 4], acks({ 1: 100, 2: 100, 3: 1 }))).toBe(1);
  });

  it('five voters: three are needed', () => {
    expect(committedIndex([1, 2, 3, 4, 5], acks({ 1: 1, 2: 2, 3: 3, 4: 4, 5: 5 }))).toBe(3);
    expect(committedIndex([1, 2, 3, 4, 5], acks({ 1: 10, 2: 10, 3: 10 }))).toBe(10);
    expect(committedIndex([1, 2, 3, 4, 5], acks({ 1: 10, 2: 10 }))).toBe(0);
    // Ties: 8, 8, 6, 6, 2 → the third largest is 6.
    expect(committedIndex([1, 2, 3, 4, 5], acks({ 1: 8, 2: 6, 3: 2, 4: 8, 5: 6 }))).toBe(6);
  });

  it('sorts numerically, not as strings', () => {
    // A lexicographic sort would rank 9 above 10 and 100.
    expect(committedIndex([1, 2, 3], acks({ 1: 9, 2: 10, 3: 100 }))).toBe(10);
  });
});

describe('voteResult', () => {
  it('an empty voter set wins', () => {
    expect(voteResult([], votes([]))).toBe(VoteResult.Won);
  });

  it('single voter: pending, then won or lost', () => {
    expect(voteResult([1], votes([]))).toBe(VoteResult.Pending);
    expect(voteResult([1], votes([[1, true]]))).toBe(VoteResult.Won);
    expect(voteResult([1], votes([[1, false]]))).toBe(VoteResult.Lost);
  });

  it('three voters', () => {
    const v = [1, 2, 3];
    expect(voteResult(v, votes([[1, true]]))).toBe(VoteResult.Pending);
    expect(voteResult(v, votes([[1, true], [2, false]]))).toBe(VoteResult.Pending);
    expect(voteResult(v, votes([[1, true], [2, true]]))).toBe(VoteResult.Won);
    expect(voteResult(v, votes([[1, true], [2, false], [3, false]]))).toBe(VoteResult.Lost);
    expect(voteResult(v, votes([[2, false], [3, false]]))).toBe(VoteResult.Lost);
  });

  it('four voters need three grants', () => {
    const v = [1, 2, 3, 4];
    expect(voteResult(v, votes([[1, true], [2, true]]))).toBe(VoteResult.Pending);
    expect(voteResult(v, votes([[1, true], [2, true], [3, false]]))).toBe(VoteResult.Pending);
    expect(voteResult(v, votes([[1, true], [2, true], [3, false], [4, false]]))).toBe(VoteResult.Lost);
    expect(voteResult(v, votes([[1, true], [2, true], [4, true]]))).toBe(VoteResult.Won);
  });

  it('five voters', () => {
    const v = [1, 2, 3, 4, 5];
    expect(voteResult(v, votes([[1, true], [2, true], [3, false], [4, false]]))).toBe(VoteResult.Pending);
    expect(voteResult(v, votes([[1, true], [2, false], [3, false], [4, false]]))).toBe(VoteResult.Lost);
    expect(voteResult(v, votes([[1, true], [2, true], [5, true]]))).toBe(VoteResult.Won);
  });

  it('ignores votes from non-voters', () => {
    // Learners or removed members cannot tip an election.
    expect(voteResult([1, 2, 3], votes([[1, true], [7, true], [8, true]]))).toBe(VoteResult.Pending);
    expect(voteResult([1, 2, 3], votes([[1, true], [2, false], [3, false], [9, true]]))).toBe(VoteResult.Lost);
  });
});

describe('isQuorum', () => {
  const has = (ids: number[]) => (id: number) => ids.includes(id);

  it('needs a strict majority', () => {
    expect(isQuorum([1], has([1]))).toBe(true);
    expect(isQuorum([1], has([]))).toBe(false);
    expect(isQuorum([1, 2], has([1]))).toBe(false);
    expect(isQuorum([1, 2], has([1, 2]))).toBe(true);
    expect(isQuorum([1, 2, 3], has([2, 3]))).toBe(true);
    expect(isQuorum([1, 2, 3], has([3]))).toBe(false);
    expect(isQuorum([1, 2, 3, 4], has([1, 2]))).toBe(false);
    expect(isQuorum([1, 2, 3, 4], has([1, 2, 4]))).toBe(true);
    expect(isQuorum([1, 2, 3, 4, 5], has([1, 3, 5]))).toBe(true);
    expect(isQuorum([1, 2, 3, 4, 5], has([1, 5]))).toBe(false);
  });

  it('counts only voters', () => {
    expect(isQuorum([1, 2, 3], has([1, 7, 8, 9]))).toBe(false);
  });
});
