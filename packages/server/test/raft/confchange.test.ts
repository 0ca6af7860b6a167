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
    // 2 is unused (etcd's UpdateNode is not supported), as is anything above 3.
    for (const t of [2, 4, 255]) {
      const b = encodeConfChange({ type: ConfChangeType.AddNode, nodeId: 1 });
      b[0] = t;
      expectInvalid(() => decodeConfChange(b));
    }
  });
});
