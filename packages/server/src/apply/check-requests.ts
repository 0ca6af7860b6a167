/**
 * The checks etcd's gRPC layer makes before a request reaches Raft (etcd's v3rpc key.go), with
 * the same errors, so a bad request fails fast and identically.
 */
import { EtcdError, ETCD_ERRORS, checkRangeRequest, compareKeys, hexOf } from '@kvfleet/core';
import {
  type DeleteRangeRequest,
  type PutRequest,
  type RequestOp,
  type TxnRequest,
} from './requests.js';

export { checkRangeRequest };

export function checkPutRequest(r: PutRequest): void {
  if (r.key.length === 0) throw new EtcdError(ETCD_ERRORS.ErrGRPCEmptyKey);
  if (r.ignoreValue && r.value.length !== 0) throw new EtcdError(ETCD_ERRORS.ErrGRPCValueProvided);
  if (r.ignoreLease && r.lease !== 0) throw new EtcdError(ETCD_ERRORS.ErrGRPCLeaseProvided);
}

export function checkDeleteRequest(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw new EtcdError(ETCD_ERRORS.ErrGRPCEmptyKey);
}

/** The op-count limit (shared with nested txns), compare keys, each op's own checks, then the duplicate-key rule per branch. */
export function checkTxnRequest(r: TxnRequest, maxTxnOps: number): void {
  checkTxnOps(r, maxTxnOps);
  checkIntervals(r.success);
  checkIntervals(r.failure);
}

function checkTxnOps(r: TxnRequest, maxTxnOps: number): void {
  const ops = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (ops > maxTxnOps) throw new EtcdError(ETCD_ERRORS.ErrGRPCTooManyOps);
  for (const c of r.compare) if (c.key.length === 0) throw new EtcdError(ETCD_ERRORS.ErrGRPCEmptyKey);
  // A nested txn draws on what its parent left of the budget, as in etcd.
  for (const op of [...r.success, ...r.failure]) checkRequestOp(op, maxTxnOps - ops);
}

function checkRequestOp(op: RequestOp, maxTxnOps: number): void {
  if ('requestRange' in op) checkRangeRequest(op.requestRange);
  else if ('requestPut' in op) checkPutRequest(op.requestPut);
  else if ('requestDeleteRange' in op) checkDeleteRequest(op.requestDeleteRange);
  else checkTxnOps(op.requestTxn, maxTxnOps);
}

/** A deleted range: [key, end), end undefined for one key, null for "to the end of the keyspace". */
interface Interval {
  readonly key: Uint8Array;
  readonly end: Uint8Array | undefined | null;
}

function covers(iv: Interval, k: Uint8Array): boolean {
  if (iv.end === undefined) return compareKeys(iv.key, k) === 0;
  if (compareKeys(k, iv.key) < 0) return false;
  return iv.end === null || compareKeys(k, iv.end) < 0;
}

/**
 * etcd's rule: within one branch (nested txns included), a key may be put at most once and
 * may not be put if the branch also deletes it. The two branches of a nested txn exclude each
 * other, so the same put in both is fine.
 */
function checkIntervals(ops: readonly RequestOp[]): { puts: Map<string, Uint8Array>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of ops) {
    if (!('requestDeleteRange' in op)) continue;
    const { key, rangeEnd } = op.requestDeleteRange;
    dels.push({ key, end: rangeEnd.length === 0 ? undefined : rangeEnd.length === 1 && rangeEnd[0] === 0 ? null : rangeEnd });
  }
  const duplicate = (): never => {
    throw new EtcdError(ETCD_ERRORS.ErrGRPCDuplicateKey);
  };
  const deleted = (k: Uint8Array): boolean => dels.some((iv) => covers(iv, k));
  const puts = new Map<string, Uint8Array>();
  for (const op of ops) {
    if (!('requestTxn' in op)) continue;
    const then = checkIntervals(op.requestTxn.success);
    const otherwise = checkIntervals(op.requestTxn.failure);
    for (const [h, k] of then.puts) {
      if (puts.has(h) || deleted(k)) duplicate();
      puts.set(h, k);
    }
    for (const [h, k] of otherwise.puts) {
      if (puts.has(h) && !then.puts.has(h)) duplicate();
      if (deleted(k)) duplicate();
      puts.set(h, k);
    }
    // Later siblings' puts are checked against these too, as in etcd.
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (!('requestPut' in op)) continue;
    const k = op.requestPut.key;
    const h = hexOf(k);
    if (puts.has(h) || deleted(k)) duplicate();
    puts.set(h, k);
  }
  return { puts, dels };
}
