/**
 * Put, DeleteRange and Txn applied inside one store write. Everything here runs in the
 * synchronous write callback; throwing aborts the whole write, which is how a txn with a bad
 * operation (unknown lease, ignore_value on a missing key) leaves no trace, as in etcd.
 *
 * Lease attachments go through {@link LeaseBinding}, staged in the same write.
 */
import { EtcdError, ETCD_ERRORS } from '@kvfleet/core';
import type { KeyValue } from '../mvcc/kv-record.js';
import type { KvStore } from '../mvcc/kv-store.js';
import type { KvWriteTxn } from '../mvcc/kv-write-txn.js';
import { compareAll } from './compare.js';
import { executeRange, type RangeReader } from '@kvfleet/core';
import type {
  DeleteRangeRequest,
  DeleteRangeResult,
  PutRequest,
  PutResult,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResult,
} from './requests.js';

/**
 * The part of the lessor that key writes use. Changes made through it are staged in the
 * transaction and take effect only if the write commits.
 */
export interface LeaseBinding {
  exists(id: number, txn: KvWriteTxn): boolean;
  attach(id: number, key: Uint8Array, txn: KvWriteTxn): void;
  detach(id: number, key: Uint8Array, txn: KvWriteTxn): void;
}

/** What write operations need besides the transaction itself. */
export interface OpContext {
  readonly txn: KvWriteTxn;
  /** The store, for ranges at an explicit revision (they cannot see this write's changes anyway). */
  readonly store: KvStore;
  readonly leases: LeaseBinding;
}

export function applyPut(ctx: OpContext, req: PutRequest): PutResult {
  let existing: KeyValue | undefined;
  if (req.ignoreValue || req.ignoreLease || req.prevKv) {
    existing = ctx.txn.range(req.key, undefined, {}).kvs[0];
  }
  if ((req.ignoreValue || req.ignoreLease) && existing === undefined) {
    throw new EtcdError(ETCD_ERRORS.ErrGRPCKeyNotFound);
  }
  const value = req.ignoreValue ? existing!.value : req.value;
  const lease = req.ignoreLease ? existing!.lease : req.lease;
  if (lease !== 0 && !ctx.leases.exists(lease, ctx.txn)) throw new EtcdError(ETCD_ERRORS.ErrGRPCLeaseNotFound);
  const before = existing ?? ctx.txn.range(req.key, undefined, {}).kvs[0];
  ctx.txn.put(req.key, value, { lease });
  if (before !== undefined && before.lease !== 0 && before.lease !== lease) ctx.leases.detach(before.lease, req.key, ctx.txn);
  if (lease !== 0 && (before === undefined || before.lease !== lease)) ctx.leases.attach(lease, req.key, ctx.txn);
  return req.prevKv && existing !== undefined ? { prevKv: existing } : {};
}

export function applyDeleteRange(ctx: OpContext, req: DeleteRangeRequest): DeleteRangeResult {
  const end = req.rangeEnd.length === 0 ? undefined : req.rangeEnd;
  const victims = ctx.txn.range(req.key, end, {}).kvs;
  const deleted = victims.length === 0 ? 0 : ctx.txn.deleteRange(req.key, end);
  for (const kv of victims) if (kv.lease !== 0) ctx.leases.detach(kv.lease, kv.key, ctx.txn);
  return { deleted, prevKvs: req.prevKv ? victims : [] };
}

export function applyTxn(ctx: OpContext, req: TxnRequest): TxnResult {
  const reader = txnReader(ctx);
  const succeeded = compareAll(reader, req.compare);
  const ops = succeeded ? req.success : req.failure;
  const responses = ops.map((op) => applyOp(ctx, reader, op));
  return { succeeded, responses };
}

function applyOp(ctx: OpContext, reader: RangeReader, op: RequestOp): ResponseOp {
  if ('requestRange' in op) {
    const result = executeRange(reader, op.requestRange);
    // etcd reports the revision the range read at: before the txn's writes if it came first.
    return { responseRange: { ...result, revision: ctx.txn.revision } };
  }
  if ('requestPut' in op) return { responsePut: applyPut(ctx, op.requestPut) };
  if ('requestDeleteRange' in op) return { responseDeleteRange: applyDeleteRange(ctx, op.requestDeleteRange) };
  return { responseTxn: applyTxn(ctx, op.requestTxn) };
}

/** Reads through the transaction (seeing its own changes), or the store at an explicit revision. */
function txnReader(ctx: OpContext): RangeReader {
  return {
    range(key, end, options) {
      if (options.revision !== undefined && options.revision > 0) return ctx.store.range(key, end, options);
      return ctx.txn.range(key, end, options);
    },
  };
}

/** A read-only txn served without Raft (after a linearizable barrier unless serializable). */
export function evaluateReadOnlyTxn(store: KvStore, req: TxnRequest): TxnResult {
  const succeeded = compareAll(store, req.compare);
  const ops = succeeded ? req.success : req.failure;
  const responses = ops.map((op): ResponseOp => {
    if ('requestRange' in op) return { responseRange: executeRange(store, op.requestRange) };
    if ('requestTxn' in op) return { responseTxn: evaluateReadOnlyTxn(store, op.requestTxn) };
    throw new Error('evaluateReadOnlyTxn: txn is not read-only');
  });
  return { succeeded, responses };
}

/** True if `req` (including nested txns, both branches) contains no put or delete. */
export function isReadOnlyTxn(req: TxnRequest): boolean {
  const readOnly = (op: RequestOp): boolean =>
    'requestRange' in op || ('requestTxn' in op && isReadOnlyTxn(op.requestTxn));
  return req.success.every(readOnly) && req.failure.every(readOnly);
}
