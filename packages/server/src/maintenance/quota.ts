/**
 * etcd's backend quota (etcdserver/quota.go): a write is admitted only while the backend's
 * size plus the write's estimated cost stays below `--quota-backend-bytes`. The cost is an
 * estimate, as in etcd: 256 bytes of metadata per put plus its key and value, 64 per lease;
 * a txn costs its more expensive branch. Pure: the size comes from the caller.
 */
import type { LeaseGrantRequest, PutRequest, RequestOp, TxnRequest } from '../apply/requests.js';

/** etcd's default backend quota (`--quota-backend-bytes` 0). */
export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024;

/** etcd's estimate of a key's metadata. */
const KV_OVERHEAD = 256;
/** etcd's estimate of a lease's record. */
const LEASE_OVERHEAD = 64;

export type QuotaRequest = { readonly put: PutRequest } | { readonly txn: TxnRequest } | { readonly leaseGrant: LeaseGrantRequest };

export function putQuotaCost(r: PutRequest): number {
  return KV_OVERHEAD + r.key.length + r.value.length;
}

/** etcd counts the puts at the top level of each branch only (nested txns cost nothing). */
export function txnQuotaCost(r: TxnRequest): number {
  const branch = (ops: readonly RequestOp[]): number => ops.reduce((sum, op) => sum + ('requestPut' in op ? putQuotaCost(op.requestPut) : 0), 0);
  return Math.max(branch(r.success), branch(r.failure));
}

export function quotaCost(req: QuotaRequest): number {
  if ('put' in req) return putQuotaCost(req.put);
  if ('txn' in req) return txnQuotaCost(req.txn);
  return LEASE_OVERHEAD;
}

/** The effective quota: the flag's value, or etcd's 2 GiB default for 0. */
export function effectiveQuotaBytes(flag: number): number {
  return flag === 0 ? DEFAULT_QUOTA_BACKEND_BYTES : flag;
}

/**
 * etcd's backendQuota.Available: a request that writes nothing (a txn without puts) always
 * passes; any other must keep size + cost strictly below the quota.
 */
export function quotaAvailable(sizeBytes: number, quotaBytes: number, req: QuotaRequest): boolean {
  const cost = quotaCost(req);
  return cost === 0 || sizeBytes + cost < effectiveQuotaBytes(quotaBytes);
}
