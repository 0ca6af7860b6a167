// The driver's apply pipeline with a scripted node and a state machine the test controls:
// committed entries that queue up behind a running apply go over together, a failed apply
// stops every later one, no queued work is left behind when a drain ends, and committed
// entries are applied while their Ready persists (a snapshot only once it is stored).
import { describe, expect, it } from 'vitest';
import { RaftDriver, type StateMachine } from '../../src/etcdserver/raft-driver.js';
import type { MemberStorage } from '../../src/storage/member-storage.js';
import type { RaftNode, Ready } from '../../src/raft/raft-node.js';
import { EntryType, type Entry } from '../../src/raft/types.js';

function entry(index: number): Entry {
  return { index, term: 1, type: EntryType.Normal, data: new Uint8Array([1]) } as Entry;
}

function committedReady(indexes: number[]): Ready {
  return { entries: [], committedEntries: indexes.map(entry), messages: [], readStates: [], mustSync: false };
}

/** A node that hands out the Readies pushed into it, one per ready() call. */
class ScriptedNode {
  readonly readies: Ready[] = [];
  hasReady(): boolean {
    return this.readies.length > 0;
  }
  ready(): Ready {
    return this.readies.shift()!;
  }
  advance(): void {}
  tick(): void {}
  step(): void {}
}

/** A state machine whose applies finish only when the test says so (or at once). */
class GatedStateMachine implements StateMachine {
  readonly calls: number[][] = [];
  private gates: (() => void)[] = [];
  constructor(
    private readonly gated: boolean,
    private readonly failAt?: number,
  ) {}
  applySnapshot(): Promise<void> {
    return Promise.resolve();
  }
  async applyEntries(entries: readonly Entry[]): Promise<void> {
    this.calls.push(entries.map((e) => e.index));
    if (this.gated) await new Promise<void>((resolve) => this.gates.push(resolve));
    if (this.failAt !== undefined && entries.some((e) => e.index === this.failAt)) throw new Error(`disk failed applying ${this.failAt}`);
  }
  release(): void {
    const gates = this.gates;
    this.gates = [];
    for (const g of gates) g();
  }
}

const storage = { persist: () => Promise.resolve() } as unknown as MemberStorage;

/** Resolves after `n` microtask turns. */
async function ticks(n: number): Promise<void> {
  for (let k = 0; k < n; k++) await Promise.resolve();
}
const transport = { send: () => undefined };
const settle = () => new Promise((r) => setImmediate(r));

function driverWith(sm: StateMachine, fatal: unknown[] = [], store: MemberStorage = storage): { driver: RaftDriver; node: ScriptedNode } {
  const node = new ScriptedNode();
  const driver = new RaftDriver(node as unknown as RaftNode, store, transport, sm, { onFatal: (e) => fatal.push(e) }, 0);
  return { driver, node };
}

describe('RaftDriver apply pipeline', () => {
  it('hands entries that queued up behind a running apply to the state machine together', async () => {
    const sm = new GatedStateMachine(true);
    const { driver, node } = driverWith(sm);
    node.readies.push(committedReady([1]));
    driver.kick();
    await settle();
    for (const batch of [[2, 3], [4], [5, 6, 7]]) {
      node.readies.push(committedReady(batch));
      driver.kick();
      await settle();
    }
    expect(sm.calls).toEqual([[1]]);
    sm.release();
    await settle();
    expect(sm.calls).toEqual([[1], [2, 3, 4, 5, 6, 7]]);
    sm.release();
    await driver.waitApplied(7);
    expect(driver.appliedIndex).toBe(7);
  });

  it('applies nothing after a failed apply, even entries whose Ready was being persisted meanwhile', async () => {
    const fatal: unknown[] = [];
    const sm = new GatedStateMachine(true, 2);
    let releasePersist: () => void = () => undefined;
    let persists = 0;
    const slowSecondPersist = {
      persist: () => (++persists === 2 ? new Promise<void>((r) => (releasePersist = r)) : Promise.resolve()),
    } as unknown as MemberStorage;
    const { driver, node } = driverWith(sm, fatal, slowSecondPersist);
    node.readies.push(committedReady([1, 2]), committedReady([3, 4]));
    driver.kick();
    await settle();
    // [1, 2] is being applied; the Ready committing [3, 4] waits on its persist.
    expect(sm.calls).toEqual([[1, 2]]);
    sm.release();
    await settle();
    expect(fatal).toHaveLength(1);
    expect(String(fatal[0])).toContain('disk failed applying 2');
    releasePersist();
    await settle();
    sm.release();
    await settle();
    expect(sm.calls).toEqual([[1, 2]]);
    expect(driver.appliedIndex).toBe(0);
  });

  it('leaves no work stranded when Readies arrive right as a drain finishes', async () => {
    // Applies and persists that take 0-3 microtask turns, Readies spaced 0-3 turns apart: new
    // work lands at every point of a drain's life, including between its last look at the
    // queue and its end.
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const sm: StateMachine & { applied: number[] } = {
      applied: [],
      applySnapshot: () => Promise.resolve(),
      async applyEntries(entries) {
        await ticks(Math.floor(random() * 4));
        for (const e of entries) this.applied.push(e.index);
      },
    };
    const jittery = { persist: () => ticks(Math.floor(random() * 4)) } as unknown as MemberStorage;
    const { driver, node } = driverWith(sm, [], jittery);
    for (let i = 1; i <= 2_000; i++) {
      node.readies.push(committedReady([i]));
      driver.kick();
      if (random() < 0.5) {
        await ticks(Math.floor(random() * 4));
      } else {
        // Nothing else will come to pick it up: this entry must be applied on its own.
        await Promise.race([driver.waitApplied(i), new Promise((_, reject) => setTimeout(() => reject(new Error(`entry ${i} stranded (applied ${driver.appliedIndex})`)), 1_000))]);
      }
    }
    await Promise.race([driver.waitApplied(2_000), new Promise((_, reject) => setTimeout(() => reject(new Error(`stuck at ${driver.appliedIndex}`)), 2_000))]);
    expect(sm.applied).toEqual(Array.from({ length: 2_000 }, (_, i) => i + 1));
  });
  it('applies committed entries while the same Ready persists, but a snapshot only once stored', async () => {
    const order: string[] = [];
    let releasePersist: () => void = () => undefined;
    const slow = {
      persist: () => {
        order.push('persist');
        return new Promise<void>((resolve) => (releasePersist = () => { order.push('persisted'); resolve(); }));
      },
    } as unknown as MemberStorage;
    const sm: StateMachine = {
      applySnapshot: async () => void order.push('snapshot'),
      applyEntries: async (entries) => void order.push(`apply ${entries.map((e) => e.index).join(',')}`),
    };
    const { driver, node } = driverWith(sm, [], slow);
    node.readies.push({ ...committedReady([1, 2]), entries: [entry(3)], mustSync: true });
    driver.kick();
    await settle();
    expect(order).toEqual(['apply 1,2', 'persist']);
    releasePersist();
    await settle();
    const snapshot = { data: new Uint8Array(), metadata: { index: 10, term: 1, confState: { voters: [1], learners: [] } } };
    node.readies.push({ ...committedReady([11]), snapshot, mustSync: true } as Ready);
    driver.kick();
    await settle();
    expect(order.slice(3)).toEqual(['persist']);
    releasePersist();
    await settle();
    expect(order.slice(3)).toEqual(['persist', 'persisted', 'snapshot', 'apply 11']);
  });
});
