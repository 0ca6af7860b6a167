/**
 * etcd's v3lock recipe (clientv3/concurrency Mutex, as etcd's Lock service runs it): the lock
 * `name` is held by the oldest key under `name/`; a caller adds `name/<lease hex>` with its
 * lease and waits until every older key is gone. Unlock is a plain delete of the key.
 */
import { EtcdError } from '@kvfleet/core';
import type { ConcurrencyKv } from './concurrency-kv.js';
import { CONCURRENCY_ERRORS } from './errors.js';
import { createRevisionIs, firstCreated, getKey, getOp, ownershipKey, putOp, rangeAt, recipePrefix } from './kv-requests.js';
import { sessionLease } from './session-lease.js';
import { waitDeletes } from './wait-deletes.js';

const EMPTY = new Uint8Array(0);

export interface LockResult {
  /** The ownership key, to pass to Unlock. */
  readonly key: Uint8Array;
  /** The revision for the response header. */
  readonly revision: number;
}

/**
 * Acquires lock `name` for `lease` (0: a fresh session lease). Locking again with the lease
 * that holds it returns at once. If waiting fails or `signal` aborts, the caller's key is
 * deleted so it does not block later callers.
 */
export async function lock(kv: ConcurrencyKv, name: Uint8Array, lease: number, signal: AbortSignal): Promise<LockResult> {
  const id = await sessionLease(kv, lease);
  const prefix = recipePrefix(name);
  const key = ownershipKey(prefix, id);
  // One round when uncontended: join the queue (or find our key from before) and read the owner.
  const out = await kv.txn({
    compare: [createRevisionIs(key, 0)],
    success: [putOp(key, EMPTY, id), getOp(firstCreated(prefix))],
    failure: [getOp(getKey(key)), getOp(firstCreated(prefix))],
  });
  const myRev = out.result.succeeded ? out.revision : rangeAt(out.result.responses, 0).kvs[0]!.createRevision;
  const owner = rangeAt(out.result.responses, 1).kvs[0];
  try {
    signal.throwIfAborted();
    if (owner === undefined || owner.createRevision === myRev) return { key, revision: out.revision };
    await waitDeletes(kv, prefix, myRev - 1, signal);
    // etcd 3.5's check: the lease may have expired while waiting, taking our key with it.
    const mine = await kv.range(getKey(key));
    if (mine.kvs.length === 0) throw new EtcdError(CONCURRENCY_ERRORS.ErrSessionExpired);
    return { key, revision: mine.revision };
  } catch (e) {
    await kv.deleteKey(key).catch(() => undefined);
    throw e;
  }
}

/** Releases a lock by deleting its ownership key; a key that is gone already is fine. */
export async function unlock(kv: ConcurrencyKv, key: Uint8Array): Promise<{ revision: number }> {
  return kv.deleteKey(key);
}
