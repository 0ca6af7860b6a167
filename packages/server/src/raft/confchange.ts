import { RaftError } from './errors.js';
import { ConfChangeType, type ConfChange, type ConfState } from './types.js';

/**
 * Applies one single-server change to a configuration. Returns the new configuration or
 * throws ErrInvalidConfig (the caller logs and skips it: every node reaches the same verdict
 * because they all apply the same committed entry to the same configuration).
 *
 *  AddNode     learner → voter (promotion), or a new voter
 *  AddLearner  new learner; a voter cannot be demoted this way
 *  RemoveNode  voter or learner leaves; removing the last voter is refused
 */
export function applyConfChange(cs: ConfState, cc: ConfChange): ConfState {
  const voters = new Set(cs.voters);
  const learners = new Set(cs.learners);
  switch (cc.type) {
    case ConfChangeType.AddNode:
      learners.delete(cc.nodeId);
      voters.add(cc.nodeId);
      break;
    case ConfChangeType.AddLearner:
      if (voters.has(cc.nodeId)) throw new RaftError('ErrInvalidConfig', `${cc.nodeId} is a voter; demotion is not supported`);
      learners.add(cc.nodeId);
      break;
    case ConfChangeType.RemoveNode:
      voters.delete(cc.nodeId);
      learners.delete(cc.nodeId);
      if (voters.size === 0) throw new RaftError('ErrInvalidConfig', 'removing the last voter');
      break;
  }
  const sort = (s: Set<number>) => [...s].sort((a, b) => a - b);
  return { voters: sort(voters), learners: sort(learners) };
}

/** Entry data for a ConfChange: 1 byte type, 8 bytes node id (big-endian). */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const b = new Uint8Array(9);
  const v = new DataView(b.buffer);
  v.setUint8(0, cc.type);
  v.setBigUint64(1, BigInt(cc.nodeId));
  return b;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length !== 9) throw new RaftError('ErrInvalidConfig', `conf change of ${data.length} bytes`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = v.getUint8(0);
  if (type !== ConfChangeType.AddNode && type !== ConfChangeType.RemoveNode && type !== ConfChangeType.AddLearner) {
    throw new RaftError('ErrInvalidConfig', `conf change type ${type}`);
  }
  const nodeId = v.getBigUint64(1);
  if (nodeId > BigInt(Number.MAX_SAFE_INTEGER)) throw new RaftError('ErrInvalidConfig', `node id ${nodeId} beyond 2^53`);
  return { type, nodeId: Number(nodeId) };
}
