/**
 * KV writes that keep the lessor's key attachments in step, as etcd's mvcc store does on every
 * put and delete: the apply code calls these instead of `txn.put` / `txn.deleteRange` inside
 * `KvStore.write`. The attachments then change with the write's commit, like everything else.
 */
import { ETCD_ERRORS, EtcdError } from '@kvfleet/core';
import type { KvWriteTxn } from '../mvcc/kv-write-txn.js';
import type { Lessor } from './lessor.js';

/**
 * Puts `key` with `lease` (0 for none): throws etcd's ErrGRPCLeaseNotFound, writing nothing, if
 * the lease does not exist; moves the key's attachment from its previous lease, if other.
 */
export function putLeased(lessor: Lessor, txn: KvWriteTxn, key: Uint8Array, value: Uint8Array, lease: number): void {
  if (lease !== 0 && lessor.lookup(lease, txn) === undefined) throw new EtcdError(ETCD_ERRORS.ErrGRPCLeaseNotFound);
  const prev = txn.range(key, undefined, { keysOnly: true }).kvs[0];
  txn.put(key, value, { lease });
  if (prev !== undefined && prev.lease !== 0 && prev.lease !== lease) lessor.detach(prev.lease, key, txn);
  if (lease !== 0) lessor.attach(lease, key, txn);
}

/** Deletes the live keys in `[key, end)` and detaches each from its lease; returns how many. */
export function deleteRangeLeased(lessor: Lessor, txn: KvWriteTxn, key: Uint8Array, end?: Uint8Array): number {
  for (const kv of txn.range(key, end, { keysOnly: true }).kvs) {
    if (kv.lease !== 0) lessor.detach(kv.lease, kv.key, txn);
  }
  return txn.deleteRange(key, end);
}
