import { describe, expect, it } from 'vitest';
import { Progress, ProgressState } from '../../src/raft/progress.js';

/** A progress in the given state with match/next already placed. */
function progress(state: ProgressState, match: number, next: number, maxInflight = 256): Progress {
  const pr = new Progress(next, maxInflight, false);
  if (state === ProgressState.Replicate) pr.becomeReplicate();
  if (state === ProgressState.Snapshot) pr.becomeSnapshot(0);
  pr.match = match;
  pr.next = next;
  return pr;
}

describe('Progress construction', () => {
  it('starts probing at `next` with nothing matched', () => {
    const pr = new Progress(5, 4, true);
    expect(pr.state).toBe(ProgressState.Probe);
    expect(pr.match).toBe(0);
    expect(pr.next).toBe(5);
    expect(pr.isLearner).toBe(true);
    expect(pr.probeSent).toBe(false);
    expect(pr.pendingSnapshot).toBe(0);
    expect(pr.inflights.capacity).toBe(4);
    expect(pr.isPaused()).toBe(false);
  });
});

describe('Progress state transitions', () => {
  it('becomeReplicate restarts right after match with an empty window', () => {
    const pr = progress(ProgressState.Probe, 3, 7);
    pr.probeSent = true;
    pr.becomeReplicate();
    expect(pr.state).toBe(ProgressState.Replicate);
    expect(pr.next).toBe(4);
    expect(pr.probeSent).toBe(false);
    expect(pr.inflights.size()).toBe(0);
  });

  it('becomeProbe from Replicate resumes at match + 1 and forgets in-flight appends', () => {
    const pr = progress(ProgressState.Replicate, 5, 6);
    pr.sentEntries(2, 7);
    expect(pr.inflights.size()).toBe(1);
    pr.becomeProbe();
    expect(pr.state).toBe(ProgressState.Probe);
    expect(pr.next).toBe(6);
    expect(pr.inflights.size()).toBe(0);
  });

  it('becomeSnapshot records the pending snapshot and pauses', () => {
    const pr = progress(ProgressState.Replicate, 1, 2);
    pr.becomeSnapshot(10);
    expect(pr.state).toBe(ProgressState.Snapshot);
    expect(pr.pendingSnapshot).toBe(10);
    expect(pr.isPaused()).toBe(true);
  });

  it('becomeProbe from Snapshot resumes after the snapshot', () => {
    const pr = progress(ProgressState.Probe, 1, 2);
    pr.becomeSnapshot(10);
    pr.becomeProbe();
    expect(pr.state).toBe(ProgressState.Probe);
    expect(pr.next).toBe(11);
    expect(pr.pendingSnapshot).toBe(0);
  });

  it('becomeProbe from Snapshot prefers match when the follower is already past the snapshot', () => {
    const pr = progress(ProgressState.Probe, 1, 2);
    pr.becomeSnapshot(10);
    pr.match = 15;
    pr.becomeProbe();
    expect(pr.next).toBe(16);
  });

  it('a failed snapshot (pendingSnapshot cleared) probes from match + 1', () => {
    // This is how the leader handles a rejected MsgSnapStatus.
    const pr = progress(ProgressState.Probe, 3, 4);
    pr.becomeSnapshot(10);
    pr.pendingSnapshot = 0;
    pr.becomeProbe();
    expect(pr.next).toBe(4);
  });
});

describe('Progress.maybeUpdate', () => {
  it('moves match and next forward on news', () => {
    const pr = progress(ProgressState.Probe, 3, 5);
    pr.probeSent = true;
    expect(pr.maybeUpdate(4)).toBe(true);
    expect(pr.match).toBe(4);
    expect(pr.next).toBe(5);
    // A fresh acknowledgement unpauses a probe.
    expect(pr.probeSent).toBe(false);
    expect(pr.maybeUpdate(8)).toBe(true);
    expect(pr.match).toBe(8);
    expect(pr.next).toBe(9);
  });

  it('reports stale acknowledgements without moving match back', () => {
    const pr = progress(ProgressState.Replicate, 5, 10);
    expect(pr.maybeUpdate(5)).toBe(false);
    expect(pr.maybeUpdate(2)).toBe(false);
    expect(pr.match).toBe(5);
    // next is never lowered by an acknowledgement.
    expect(pr.next).toBe(10);
  });

  it('stale acknowledgement leaves a pending probe paused', () => {
    const pr = progress(ProgressState.Probe, 5, 6);
    pr.probeSent = true;
    expect(pr.maybeUpdate(5)).toBe(false);
    expect(pr.probeSent).toBe(true);
  });
});

describe('Progress.maybeDecrTo', () => {
  describe('in Replicate', () => {
    it('ignores rejections at or below match (out of order)', () => {
      const pr = progress(ProgressState.Replicate, 5, 10);
      expect(pr.maybeDecrTo(5, 5)).toBe(false);
      expect(pr.maybeDecrTo(4, 0)).toBe(false);
      expect(pr.next).toBe(10);
    });

    it('falls back to match + 1 on a rejection beyond match, whatever the hint', () => {
      const pr = progress(ProgressState.Replicate, 5, 10);
      expect(pr.maybeDecrTo(9, 9)).toBe(true);
      expect(pr.next).toBe(6);
      const pr2 = progress(ProgressState.Replicate, 5, 10);
      expect(pr2.maybeDecrTo(7, 0)).toBe(true);
      expect(pr2.next).toBe(6);
    });
  });

  describe('in Probe', () => {
    it('ignores a rejection of anything but the last probe (next - 1)', () => {
      const pr = progress(ProgressState.Probe, 0, 10);
      pr.probeSent = true;
      expect(pr.maybeDecrTo(5, 5)).toBe(false);
      expect(pr.maybeDecrTo(10, 5)).toBe(false);
      expect(pr.next).toBe(10);
      expect(pr.probeSent).toBe(true);
    });

    it('jumps to hint + 1 on a rejection of the last probe, and unpauses', () => {
      const pr = progress(ProgressState.Probe, 0, 10);
      pr.probeSent = true;
      expect(pr.maybeDecrTo(9, 4)).toBe(true);
      expect(pr.next).toBe(5);
      expect(pr.probeSent).toBe(false);
    });

    it('never goes above the rejected index when the hint is high', () => {
      const pr = progress(ProgressState.Probe, 0, 10);
      expect(pr.maybeDecrTo(9, 20)).toBe(true);
      expect(pr.next).toBe(9);
    });

    it('never goes below match + 1 when the hint is low', () => {
      const pr = progress(ProgressState.Probe, 3, 10);
      expect(pr.maybeDecrTo(9, 0)).toBe(true);
      expect(pr.next).toBe(4);
    });

    it('a hint of 0 with nothing matched restarts at 1', () => {
      const pr = progress(ProgressState.Probe, 0, 2);
      expect(pr.maybeDecrTo(1, 0)).toBe(true);
      expect(pr.next).toBe(1);
    });
  });
});

describe('Progress.sentEntries and isPaused', () => {
  it('Probe: any send (even an empty one) pauses until an answer', () => {
    const pr = progress(ProgressState.Probe, 0, 3);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(0, 2);
    expect(pr.isPaused()).toBe(true);
    // next does not move in Probe: one probe at a time.
    expect(pr.next).toBe(3);
    pr.maybeUpdate(2);
    expect(pr.isPaused()).toBe(false);
  });

  it('Replicate: pipelines, moving next and filling the window until full', () => {
    const pr = progress(ProgressState.Replicate, 2, 3, 2);
    pr.sentEntries(3, 5);
    expect(pr.next).toBe(6);
    expect(pr.inflights.size()).toBe(1);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(1, 6);
    expect(pr.next).toBe(7);
    expect(pr.isPaused()).toBe(true);
    // Acknowledging frees the window.
    pr.maybeUpdate(5);
    pr.inflights.freeLE(5);
    expect(pr.isPaused()).toBe(false);
  });

  it('Replicate: an empty append (commit-only) neither moves next nor uses the window', () => {
    const pr = progress(ProgressState.Replicate, 4, 5, 1);
    pr.sentEntries(0, 4);
    expect(pr.next).toBe(5);
    expect(pr.inflights.size()).toBe(0);
    expect(pr.isPaused()).toBe(false);
  });

  it('Snapshot: always paused, and sending changes nothing', () => {
    const pr = progress(ProgressState.Probe, 1, 2);
    pr.becomeSnapshot(9);
    pr.sentEntries(3, 5);
    expect(pr.next).toBe(2);
    expect(pr.inflights.size()).toBe(0);
    expect(pr.isPaused()).toBe(true);
  });
});

describe('Progress.describe', () => {
  it('summarises state, flags and window', () => {
    const pr = progress(ProgressState.Replicate, 2, 3);
    pr.recentActive = true;
    pr.sentEntries(1, 3);
    expect(pr.describe()).toBe('StateReplicate match=2 next=4 inflight=1');
    const l = new Progress(1, 4, true);
    l.becomeSnapshot(7);
    expect(l.describe()).toBe('StateSnapshot match=0 next=1 learner paused pendingSnap=7 inactive');
  });
});
