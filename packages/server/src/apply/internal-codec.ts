/**
 * Raft entry payloads: an {@link InternalRequest} as kvfleetpb.InternalRaftRequest bytes.
 */
import { proto } from '@kvfleet/core';
import { normalizeInternal } from './normalize.js';
import { CompareTarget, type Compare, type InternalRequest, type RequestOp, type TxnRequest } from './requests.js';

export function encodeInternalRequest(req: InternalRequest): Uint8Array {
  const header = { ID: req.id };
  if ('txn' in req) return proto.encodeInternalRaftRequest({ header, txn: txnToWire(req.txn) });
  if ('leaseCheckpoint' in req) {
    const checkpoints = req.leaseCheckpoint.checkpoints.map((c) => ({ ID: c.ID, remaining_TTL: c.remainingTTL }));
    return proto.encodeInternalRaftRequest({ header, leaseCheckpoint: { checkpoints } });
  }
  const { id: _id, ...body } = req;
  return proto.encodeInternalRaftRequest({ header, ...body });
}

export function decodeInternalRequest(bytes: Uint8Array): InternalRequest | undefined {
  return normalizeInternal(proto.decodeInternalRaftRequest(bytes));
}

// A Compare's operand is a oneof: set only the member its target names, or the decoder would
// keep whichever came last.
function compareToWire(c: Compare): proto.Init<proto.Compare> {
  const base = { result: c.result, target: c.target, key: c.key, rangeEnd: c.rangeEnd };
  switch (c.target) {
    case CompareTarget.CREATE:
      return { ...base, createRevision: c.createRevision };
    case CompareTarget.MOD:
      return { ...base, modRevision: c.modRevision };
    case CompareTarget.VALUE:
      return { ...base, value: c.value };
    case CompareTarget.LEASE:
      return { ...base, lease: c.lease };
    default:
      return { ...base, version: c.version };
  }
}

function opToWire(op: RequestOp): proto.Init<proto.RequestOp> {
  if ('requestTxn' in op) return { requestTxn: txnToWire(op.requestTxn) };
  return op;
}

function txnToWire(t: TxnRequest): proto.Init<proto.TxnRequest> {
  return { compare: t.compare.map(compareToWire), success: t.success.map(opToWire), failure: t.failure.map(opToWire) };
}
