import { describe, expect, it } from 'vitest';
import { ReadBarrier, readContextPrefix, type ReadBarrierDeps } from '../../src/etcdserver/read-barrier.js';

interface FakeTimer {
  fn: () => void;
  ms: number;
  canceled: boolean;
}

/** Deps under the test's control: ReadIndex requests recorded, applied-waits and timers fired by hand. */
class Fake implements ReadBarrierDeps {
  readonly sent: Uint8Array[] = [];
  readonly applied: { index: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  readonly timers: FakeTimer[] = [];
  throwOnRequest: Error | undefined;

  requestReadIndex(ctx: Uint8Array): void {
    if (this.throwOnRequest !== undefined) throw this.throwOnRequest;
    this.sent.push(ctx);
  }

  waitApplied(index: number): Promise<void> {
    return new Promise((resolve, reject) => this.applied.push({ index, resolve, reject }));
  }

  timeoutError(): Error {
    return new Error('read index timed out');
  }

  setTimer(fn: () => void, ms: number): { cancel(): void } {
    const t: FakeTimer = { fn, ms, canceled: false };
    this.timers.push(t);
    return { cancel: () => void (t.canceled = true) };
  }

  /** The ctx of the latest ReadIndex request. */
  get last(): Uint8Array {
    const c = this.sent.at(-1);
    if (c === undefined) throw new Error('nothing sent');
    return c;
  }
}

/** Tracks a promise's state without awaiting it. */
function track(p: Promise<void>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const t: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  p.then(
    () => void (t.state = 'resolved'),
    (e: unknown) => {
      t.state = 'rejected';
      t.error = e;
    },
  );
  return t;
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

function setup(timeoutMs = 1000): { deps: Fake; barrier: ReadBarrier } {
  const deps = new Fake();
  return { deps, barrier: new ReadBarrier(deps, timeoutMs) };
}

describe('ReadBarrier', () => {
  it('a read sends one ReadIndex and resolves only once the read index is applied', async () => {
    const { deps, barrier } = setup();
    const w = track(barrier.wait());
    expect(deps.sent).toHaveLength(1);
    // The round's timeout and its retry.
    expect(deps.timers.map((t) => t.ms)).toEqual([1000, 500]);
    await flush();
    expect(w.state).toBe('pending');

    barrier.onReadState(42, deps.last);
    expect(deps.applied.map((a) => a.index)).toEqual([42]);
    expect(deps.timers[0]!.canceled).toBe(true);
    await flush();
    expect(w.state).toBe('pending'); // not applied yet

    deps.applied[0]!.resolve();
    await flush();
    expect(w.state).toBe('resolved');
  });

  it('reads arriving while a round is in flight share the next round; one ReadIndex in flight at a time', async () => {
    const { deps, barrier } = setup();
    const first = track(barrier.wait());
    const later = [track(barrier.wait()), track(barrier.wait()), track(barrier.wait())];
    expect(deps.sent).toHaveLength(1);

    const round1 = deps.last;
    barrier.onReadState(10, round1);
    // The queued reads go out together as round 2, at once.
    expect(deps.sent).toHaveLength(2);
    const round2 = deps.last;
    expect(Buffer.from(round2).equals(Buffer.from(round1))).toBe(false);

    // More reads while round 2 is out wait for round 3.
    const third = [track(barrier.wait()), track(barrier.wait())];
    expect(deps.sent).toHaveLength(2);

    deps.applied[0]!.resolve();
    await flush();
    expect(first.state).toBe('resolved');
    for (const w of [...later, ...third]) expect(w.state).toBe('pending');

    barrier.onReadState(12, round2);
    expect(deps.sent).toHaveLength(3);
    expect(deps.applied.map((a) => a.index)).toEqual([10, 12]);
    deps.applied[1]!.resolve();
    await flush();
    for (const w of later) expect(w.state).toBe('resolved');
    for (const w of third) expect(w.state).toBe('pending');

    barrier.onReadState(13, deps.last);
    deps.applied[2]!.resolve();
    await flush();
    for (const w of third) expect(w.state).toBe('resolved');
    // Nobody waiting: nothing more is sent.
    expect(deps.sent).toHaveLength(3);
  });

  it('a new read after the barrier went idle starts a new round', async () => {
    const { deps, barrier } = setup();
    const a = track(barrier.wait());
    barrier.onReadState(1, deps.last);
    deps.applied[0]!.resolve();
    await flush();
    expect(a.state).toBe('resolved');
    const b = track(barrier.wait());
    expect(deps.sent).toHaveLength(2);
    barrier.onReadState(2, deps.last);
    deps.applied[1]!.resolve();
    await flush();
    expect(b.state).toBe('resolved');
  });

  it('ignores read states for other contexts', async () => {
    const { deps, barrier } = setup();
    const w = track(barrier.wait());
    barrier.onReadState(5, new Uint8Array([1, 2, 3]));
    barrier.onReadState(5, new Uint8Array(8));
    expect(deps.applied).toHaveLength(0);
    await flush();
    expect(w.state).toBe('pending');
    barrier.onReadState(5, deps.last);
    expect(deps.applied).toHaveLength(1);
  });

  it('resends a round that got no answer every retry interval, with the same context, and an answer to any send resolves it', async () => {
    const { deps, barrier } = setup();
    const a = track(barrier.wait());
    const b = track(barrier.wait()); // queued behind a's round
    const round1 = deps.last;
    deps.timers[1]!.fn();
    expect(deps.sent).toHaveLength(2);
    expect(Buffer.from(deps.last).equals(Buffer.from(round1))).toBe(true);
    const liveRetries = () => deps.timers.filter((t) => t.ms === 500 && !t.canceled).length;
    expect(liveRetries()).toBe(1); // re-armed
    // No leader at the next retry: the round waits on, and asks again later.
    deps.throwOnRequest = new Error('no leader');
    deps.timers.at(-1)!.fn();
    await flush();
    expect(a.state).toBe('pending');
    deps.throwOnRequest = undefined;
    deps.timers.at(-1)!.fn();
    expect(deps.sent).toHaveLength(3);

    barrier.onReadState(7, round1);
    expect(deps.timers[0]!.canceled).toBe(true);
    expect(liveRetries()).toBe(1); // b's round went out at once; a's retry is stopped
    deps.applied[0]!.resolve();
    await flush();
    expect(a.state).toBe('resolved');
    // b's round is a different round.
    expect(deps.sent).toHaveLength(4);
    expect(Buffer.from(deps.last).equals(Buffer.from(round1))).toBe(false);
    expect(b.state).toBe('pending');
  });

  it('a leader change resends the round in flight at once; with nothing in flight it sends nothing', async () => {
    const { deps, barrier } = setup();
    barrier.leaderChanged();
    expect(deps.sent).toHaveLength(0);
    const a = track(barrier.wait());
    const round = deps.last;
    barrier.leaderChanged();
    expect(deps.sent).toHaveLength(2);
    expect(Buffer.from(deps.last).equals(Buffer.from(round))).toBe(true);
    barrier.onReadState(8, round);
    deps.applied[0]!.resolve();
    await flush();
    expect(a.state).toBe('resolved');
    // Settled rounds are never resent, and no retry timer outlives its round.
    barrier.leaderChanged();
    expect(deps.sent).toHaveLength(2);
    expect(deps.timers.filter((t) => !t.canceled)).toEqual([]);
  });

  it('a round that times out fails its waiters, and the next round starts', async () => {
    const { deps, barrier } = setup(500);
    const a = track(barrier.wait());
    const b = track(barrier.wait()); // queued behind a's round
    const round1 = deps.last;
    expect(deps.sent).toHaveLength(1);

    deps.timers[0]!.fn();
    await flush();
    expect(a.state).toBe('rejected');
    expect((a.error as Error).message).toBe('read index timed out');
    // b's round goes out at once.
    expect(deps.sent).toHaveLength(2);
    expect(b.state).toBe('pending');

    // A late answer to the timed-out round is ignored.
    barrier.onReadState(9, round1);
    expect(deps.applied).toHaveLength(0);

    barrier.onReadState(11, deps.last);
    deps.applied[0]!.resolve();
    await flush();
    expect(b.state).toBe('resolved');
  });

  it('after a timeout with nobody queued, the next read sends a new ReadIndex', async () => {
    const { deps, barrier } = setup();
    const a = track(barrier.wait());
    deps.timers[0]!.fn();
    await flush();
    expect(a.state).toBe('rejected');
    expect(deps.sent).toHaveLength(1);
    const b = track(barrier.wait());
    expect(deps.sent).toHaveLength(2);
    barrier.onReadState(3, deps.last);
    deps.applied[0]!.resolve();
    await flush();
    expect(b.state).toBe('resolved');
  });

  it('requestReadIndex throwing fails the round with its error; the barrier recovers', async () => {
    const { deps, barrier } = setup();
    const noLeader = new Error('no leader');
    deps.throwOnRequest = noLeader;
    const a = track(barrier.wait());
    await flush();
    expect(a.state).toBe('rejected');
    expect(a.error).toBe(noLeader);
    expect(deps.timers[0]!.canceled).toBe(true);

    deps.throwOnRequest = undefined;
    const b = track(barrier.wait());
    expect(deps.sent).toHaveLength(1);
    barrier.onReadState(4, deps.last);
    deps.applied[0]!.resolve();
    await flush();
    expect(b.state).toBe('resolved');
  });

  it('requestReadIndex throwing for a queued round fails that round only', async () => {
    const { deps, barrier } = setup();
    const a = track(barrier.wait());
    const b = track(barrier.wait());
    deps.throwOnRequest = new Error('leader lost');
    barrier.onReadState(6, deps.last);
    await flush();
    expect(b.state).toBe('rejected');
    expect((b.error as Error).message).toBe('leader lost');
    deps.applied[0]!.resolve();
    await flush();
    expect(a.state).toBe('resolved');
  });

  it('a failing waitApplied fails the round', async () => {
    const { deps, barrier } = setup();
    const a = track(barrier.wait());
    barrier.onReadState(6, deps.last);
    const stopped = new Error('stopped');
    deps.applied[0]!.reject(stopped);
    await flush();
    expect(a.state).toBe('rejected');
    expect(a.error).toBe(stopped);
  });

  it('failAll fails the in-flight and the queued reads and cancels the timer', async () => {
    const { deps, barrier } = setup();
    const a = track(barrier.wait());
    const b = track(barrier.wait());
    const err = new Error('shutdown');
    barrier.failAll(err);
    await flush();
    expect(a.error).toBe(err);
    expect(b.error).toBe(err);
    expect(deps.timers[0]!.canceled).toBe(true);
    // The barrier still works afterwards.
    const c = track(barrier.wait());
    expect(deps.sent).toHaveLength(2);
    barrier.onReadState(1, deps.last);
    deps.applied[0]!.resolve();
    await flush();
    expect(c.state).toBe('resolved');
  });

  it('every round has a distinct context', () => {
    const { deps, barrier } = setup();
    for (let i = 0; i < 20; i++) {
      void barrier.wait().catch(() => undefined);
      barrier.onReadState(i, deps.last);
    }
    const hex = new Set(deps.sent.map((c) => Buffer.from(c).toString('hex')));
    expect(hex.size).toBe(deps.sent.length);
  });

  it('an answer meant for an earlier process of the member, or for another member, settles nothing', async () => {
    // Found by the whole-member simulator: contexts were a counter from 1, so a leader's late
    // answer to a read sent before a restart matched the restarted member's round of the same
    // number, whose index could be older than writes the new read must see.
    const before = new Fake();
    const old = new ReadBarrier(before, 1000, 500, readContextPrefix(0x1b55c6a3067b23, 7));
    void old.wait().catch(() => undefined);
    const after = new Fake();
    const restarted = new ReadBarrier(after, 1000, 500, readContextPrefix(0x1b55c6a3067b23, 8));
    const other = new Fake();
    const peer = new ReadBarrier(other, 1000, 500, readContextPrefix(0x12a8f31aad387e, 8));
    void peer.wait().catch(() => undefined);
    const w = track(restarted.wait());
    restarted.onReadState(5, before.last);
    restarted.onReadState(5, other.last);
    await flush();
    expect(after.applied).toHaveLength(0);
    restarted.onReadState(9, after.last);
    expect(after.applied.map((a) => a.index)).toEqual([9]);
    after.applied[0]!.resolve();
    await flush();
    expect(w.state).toBe('resolved');
  });
});
