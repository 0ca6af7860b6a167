/** Majority arithmetic over a set of voters. Pure functions, no Raft state. */

export enum VoteResult {
  Pending = 'VotePending',
  Lost = 'VoteLost',
  Won = 'VoteWon',
}

/**
 * The largest index that a majority of `voters` have acknowledged (`acked(id)`).
 * Example: voters {1,2,3} with acked 5, 7, 9 → 7 (two of three have >= 7).
 * An empty voter set commits everything (it cannot block), matching etcd's convention.
 */
export function committedIndex(voters: readonly number[], acked: (id: number) => number): number {
  const n = voters.length;
  if (n === 0) return Number.MAX_SAFE_INTEGER;
  const indexes = voters.map(acked).sort((a, b) => b - a);
  return indexes[Math.floor(n / 2)]!;
}

/** The outcome of an election given the votes so far (true = granted, false = rejected). */
export function voteResult(voters: readonly number[], votes: ReadonlyMap<number, boolean>): VoteResult {
  if (voters.length === 0) return VoteResult.Won;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = Math.floor(voters.length / 2) + 1;
  if (granted >= q) return VoteResult.Won;
  if (granted + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}

export function isQuorum(voters: readonly number[], has: (id: number) => boolean): boolean {
  let n = 0;
  for (const id of voters) if (has(id)) n++;
  return n >= Math.floor(voters.length / 2) + 1;
}
