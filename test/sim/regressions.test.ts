import { describe, expect, it } from 'vitest';
import { runSimulation } from './simulation.js';
import type { SimOverrides } from './swarm.js';

/**
 * Seeds that once failed, each with the bug it found (see docs/simulation.md). They replay
 * exactly, so each one keeps its bug fixed.
 */
const FOUND: { seed: number; options: SimOverrides; bug: string }[] = [
  {
    seed: 1913053018,
    options: {},
    bug: 'a two-voter cluster removed its leader and restarted: nobody could win (issue 24)',
  },
  {
    seed: 636377931,
    options: {},
    bug: 'a learner whose term a removed member raised ignored the lower-term leader forever (no pre-vote, no check-quorum)',
  },
  {
    seed: 1069387445,
    options: { profile: 'churn' },
    bug: 'a removed member whose pre-election messages were lost stayed a pre-candidate and never answered the next request',
  },
  { seed: 802532002, options: { profile: 'churn' }, bug: 'a candidate in a newer configuration stayed below the term of a voter that never asked it (no pre-vote)' },
  { seed: 802536520, options: { profile: 'churn' }, bug: 'the same, two voters' },
  { seed: 802536894, options: { profile: 'churn' }, bug: 'the same, three founders' },
  { seed: 802545542, options: { profile: 'churn' }, bug: 'the same, with learners and a stale leader' },
  { seed: 296774708, options: {}, bug: 'the same, in the default mix' },
  { seed: 379263484, options: { profile: 'churn' }, bug: 'simulator: the liveness marker, lost with a leader, was never proposed again to the same node in a later term' },
  { seed: 379235833, options: { profile: 'churn' }, bug: 'simulator: the same' },
  { seed: 379216701, options: { profile: 'churn' }, bug: 'simulator: a removed member retired while the survivor could still forget its removal on a crash' },
  { seed: 804943008, options: { profile: 'churn' }, bug: 'a snapshot restored while a Ready was outstanding: advance re-applied an older AddLearner on top of it, bringing back a removed member' },
  { seed: 1654627286, options: { profile: 'churn' }, bug: 'removed members nobody stopped kept a lagging voter from electing the new configuration (no pre-vote): a voter refusing a removed member now stops it' },
];

describe('seeds that found bugs', () => {
  for (const f of FOUND) {
    it(`seed ${f.seed}${f.options.profile ? ` (${f.options.profile})` : ''}: ${f.bug}`, () => {
      const r = runSimulation(f.seed, f.options);
      expect(r.ok ? 'ok' : r.violation.message).toBe('ok');
    });
  }
});
