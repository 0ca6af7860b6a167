import { describe, expect, it } from 'vitest';
import { firstFailure } from './batch.js';
import { runSimulation, type SimOptions } from './simulation.js';
import type { ViolationKind } from './checkers.js';

/**
 * The checkers are only worth something if they fail when Raft is wrong. Each case switches
 * on one deliberate bug, searches seeds until the simulator reports a violation of the kind
 * the bug must cause, and replays that seed without the bug to show the bug caused it.
 */
const cases: { bug: string; options: SimOptions; kinds: ViolationKind[]; searchLimit: number }[] = [
  {
    bug: 'granting a second vote in the same term',
    options: { testingBugs: { voteTwiceInTerm: true } },
    kinds: ['election-safety'],
    searchLimit: 200,
  },
  {
    bug: 'committing an older term’s entry by counting replicas (Figure 8)',
    options: { profile: 'stormy', testingBugs: { commitOlderTermByCount: true } },
    kinds: ['leader-completeness', 'state-machine-safety', 'log-matching', 'acknowledged-write-lost', 'raft-panic'],
    searchLimit: 1500,
  },
  {
    bug: 'acknowledging entries before they are persisted',
    options: { profile: 'stormy', simBugs: { sendBeforePersist: true } },
    kinds: ['leader-completeness', 'state-machine-safety', 'log-matching', 'acknowledged-write-lost', 'raft-panic'],
    searchLimit: 1500,
  },
];

describe('the simulator catches known-bad behaviour', () => {
  for (const c of cases) {
    it(`reports ${c.bug}`, async () => {
      const failed = await firstFailure(1, c.searchLimit, c.options);
      expect(failed, `no violation within ${c.searchLimit} seeds`).toBeDefined();
      expect(c.kinds).toContain(failed!.violation.kind);
      const { testingBugs: _t, simBugs: _s, ...withoutBug } = c.options;
      const clean = runSimulation(failed!.seed, withoutBug);
      expect(clean.ok ? 'ok' : clean.violation.message).toBe('ok');
    }, 900_000);
  }
});
