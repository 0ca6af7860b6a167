import type { HardState, Snapshot } from './types.js';

/**
 * The state every founding member of a new cluster starts from: a snapshot at index 1, term 1
 * holding the initial voters, and that index committed. Because the log starts after a
 * snapshot, a member that joins later always receives a snapshot first, which carries the
 * configuration it needs (an empty log could not tell it who the founders were).
 */
export function bootstrapState(voters: readonly number[]): { snapshot: Snapshot; hardState: HardState } {
  if (voters.length === 0) throw new Error('a cluster needs at least one voter');
  return {
    snapshot: {
      data: new Uint8Array(0),
      metadata: { index: 1, term: 1, confState: { voters: [...voters].sort((a, b) => a - b), learners: [] } },
    },
    hardState: { term: 1, vote: 0, commit: 1 },
  };
}
