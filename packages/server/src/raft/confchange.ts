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
 *  UpdateNode  nothing changes for Raft (the application updates the member's URLs)
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
    case ConfChangeType.UpdateNode:
      break;
  }
  const sort = (s: Set<number>) => [...s].sort((a, b) => a - b);
  return { voters: sort(voters), learners: sort(learners) };
}

const HEADER_BYTES = 9;
const CONTEXT_LENGTH_BYTES = 4;

/**
 * Entry data for a ConfChange: 1 byte type, 8 bytes node id (big-endian), then, only when
 * there is a context, its length (4 bytes, big-endian) and its bytes. A change without a
 * context is the original 9-byte form, so entries written before contexts existed still decode.
 */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const context = cc.context;
  const hasContext = context !== undefined && context.length > 0;
  const b = new Uint8Array(HEADER_BYTES + (hasContext ? CONTEXT_LENGTH_BYTES + context.length : 0));
  const v = new DataView(b.buffer);
  v.setUint8(0, cc.type);
  v.setBigUint64(1, BigInt(cc.nodeId));
  if (hasContext) {
    v.setUint32(HEADER_BYTES, context.length);
    b.set(context, HEADER_BYTES + CONTEXT_LENGTH_BYTES);
  }
  return b;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length !== HEADER_BYTES && data.length < HEADER_BYTES + CONTEXT_LENGTH_BYTES) {
    throw new RaftError('ErrInvalidConfig', `conf change of ${data.length} bytes`);
  }
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = v.getUint8(0);
  if (
    type !== ConfChangeType.AddNode &&
    type !== ConfChangeType.RemoveNode &&
    type !== ConfChangeType.AddLearner &&
    type !== ConfChangeType.UpdateNode
  ) {
    throw new RaftError('ErrInvalidConfig', `conf change type ${type}`);
  }
  const nodeId = v.getBigUint64(1);
  if (nodeId > BigInt(Number.MAX_SAFE_INTEGER)) throw new RaftError('ErrInvalidConfig', `node id ${nodeId} beyond 2^53`);
  if (data.length === HEADER_BYTES) return { type, nodeId: Number(nodeId) };
  const length = v.getUint32(HEADER_BYTES);
  if (length === 0 || data.length !== HEADER_BYTES + CONTEXT_LENGTH_BYTES + length) {
    throw new RaftError('ErrInvalidConfig', `conf change context of ${length} bytes in ${data.length} bytes`);
  }
  const context = data.slice(HEADER_BYTES + CONTEXT_LENGTH_BYTES);
  return { type, nodeId: Number(nodeId), context };
}
