import { describe, expect, it } from 'vitest';
import { applyConfChange, decodeConfChange, encodeConfChange } from '../../src/raft/confchange.js';
import { isRaftError } from '../../src/raft/errors.js';
import { ConfChangeType, type ConfChange, type ConfState } from '../../src/raft/types.js';

function cs(voters: number[], learners: number[] = []): ConfState {
  return { voters, learners };
}

/** Runs `fn`, expecting an ErrInvalidConfig RaftError. */
function expectInvalid(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(isRaftError(caught, 'ErrInvalidConfig'), `got ${String(caught)}`).toBe(true);
}

describe('applyConfChange', () => {
  it('adds a new voter, keeping the result sorted', () => {
    expect(applyConfChange(cs([3, 1]), { type: ConfChangeType.AddNode, nodeId: 2 })).toEqual(cs([1, 2, 3]));
  });

  it('adding an existing voter is a no-op', () => {
    expect(applyConfChange(cs([1, 2]), { type: ConfChangeType.AddNode, nodeId: 2 })).toEqual(cs([1, 2]));
  });

  it('adds a learner', () => {
    expect(applyConfChange(cs([1]), { type: ConfChangeType.AddLearner, nodeId: 5 })).toEqual(cs([1], [5]));
    // Idempotent.
    expect(applyConfChange(cs([1], [5]), { type: ConfChangeType.AddLearner, nodeId: 5 })).toEqual(cs([1], [5]));
  });

  it('promotes a learner with AddNode (it leaves the learner set)', () => {
    expect(applyConfChange(cs([1], [4, 5]), { type: ConfChangeType.AddNode, nodeId: 4 })).toEqual(cs([1, 4], [5]));
  });

  it('removes a voter or a learner', () => {
    expect(applyConfChange(cs([1, 2, 3]), { type: ConfChangeType.RemoveNode, nodeId: 2 })).toEqual(cs([1, 3]));
    expect(applyConfChange(cs([1], [2]), { type: ConfChangeType.RemoveNode, nodeId: 2 })).toEqual(cs([1]));
  });

  it('removing a non-member is a no-op', () => {
    expect(applyConfChange(cs([1, 2]), { type: ConfChangeType.RemoveNode, nodeId: 9 })).toEqual(cs([1, 2]));
  });

  it('refuses to remove the last voter', () => {
    expectInvalid(() => applyConfChange(cs([1], [2]), { type: ConfChangeType.RemoveNode, nodeId: 1 }));
  });

  it('refuses to demote a voter to learner', () => {
    expectInvalid(() => applyConfChange(cs([1, 2]), { type: ConfChangeType.AddLearner, nodeId: 2 }));
  });

  it('does not mutate its input', () => {
    const before = cs([1, 2], [3]);
    const frozen: ConfState = { voters: Object.freeze([...before.voters]), learners: Object.freeze([...before.learners]) };
    applyConfChange(frozen, { type: ConfChangeType.AddNode, nodeId: 3 });
    applyConfChange(frozen, { type: ConfChangeType.RemoveNode, nodeId: 1 });
    expect(frozen).toEqual(before);
  });
});

describe('encodeConfChange / decodeConfChange', () => {
  const samples: ConfChange[] = [
    { type: ConfChangeType.AddNode, nodeId: 1 },
    { type: ConfChangeType.RemoveNode, nodeId: 42 },
    { type: ConfChangeType.AddLearner, nodeId: 0x1234_5678_9abc },
    { type: ConfChangeType.AddNode, nodeId: Number.MAX_SAFE_INTEGER },
  ];

  for (const cc of samples) {
    it(`round-trips ${ConfChangeType[cc.type]} ${cc.nodeId}`, () => {
      const b = encodeConfChange(cc);
      expect(b.length).toBe(9);
      expect(decodeConfChange(b)).toEqual(cc);
    });
  }

  it('uses 1 type byte then a big-endian 8-byte id', () => {
    expect([...encodeConfChange({ type: ConfChangeType.AddLearner, nodeId: 0x0102 })]).toEqual([3, 0, 0, 0, 0, 0, 0, 1, 2]);
  });

  it('decodes from a view into a larger buffer (respects byteOffset)', () => {
    const inner = encodeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 7 });
    const big = new Uint8Array(20);
    big.set(inner, 5);
    expect(decodeConfChange(big.subarray(5, 14))).toEqual({ type: ConfChangeType.RemoveNode, nodeId: 7 });
  });

  it('rejects the wrong length', () => {
    expectInvalid(() => decodeConfChange(new Uint8Array(0)));
    expectInvalid(() => decodeConfChange(new Uint8Array(8)));
    expectInvalid(() => decodeConfChange(new Uint8Array(10)));
  });

  it('rejects an unknown type byte', () => {
    for (const t of [4, 5, 255]) {
      const b = encodeConfChange({ type: ConfChangeType.AddNode, nodeId: 1 });
      b[0] = t;
      expectInvalid(() => decodeConfChange(b));
    }
  });

  it('decodes UpdateNode (type 2)', () => {
    expect(decodeConfChange(Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0, 9))).toEqual({ type: ConfChangeType.UpdateNode, nodeId: 9 });
  });
});

describe('conf change context', () => {
  const context = new TextEncoder().encode('{"name":"n4"}');

  it('round-trips a context after a 4-byte length', () => {
    const b = encodeConfChange({ type: ConfChangeType.AddLearner, nodeId: 0x0102, context });
    expect(b.length).toBe(9 + 4 + context.length);
    expect([...b.subarray(0, 13)]).toEqual([3, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, context.length]);
    expect(decodeConfChange(b)).toEqual({ type: ConfChangeType.AddLearner, nodeId: 0x0102, context });
  });

  it('keeps an empty context in the old 9-byte form', () => {
    const b = encodeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 5, context: new Uint8Array(0) });
    expect(b.length).toBe(9);
    expect(decodeConfChange(b)).toEqual({ type: ConfChangeType.RemoveNode, nodeId: 5 });
  });

  it('decodes a context from a view into a larger buffer', () => {
    const inner = encodeConfChange({ type: ConfChangeType.UpdateNode, nodeId: 7, context });
    const big = new Uint8Array(inner.length + 10);
    big.set(inner, 5);
    expect(decodeConfChange(big.subarray(5, 5 + inner.length))).toEqual({ type: ConfChangeType.UpdateNode, nodeId: 7, context });
  });

  it('rejects a length that does not match the bytes', () => {
    const b = encodeConfChange({ type: ConfChangeType.AddNode, nodeId: 1, context });
    expectInvalid(() => decodeConfChange(b.subarray(0, b.length - 1)));
    const longer = new Uint8Array(b.length + 1);
    longer.set(b);
    expectInvalid(() => decodeConfChange(longer));
    const zero = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0);
    expectInvalid(() => decodeConfChange(zero));
  });

  it('leaves Raft\'s verdict unchanged: UpdateNode keeps the configuration', () => {
    expect(applyConfChange(cs([1, 2], [3]), { type: ConfChangeType.UpdateNode, nodeId: 2, context })).toEqual(cs([1, 2], [3]));
  });
});
