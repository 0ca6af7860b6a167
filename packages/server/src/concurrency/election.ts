/**
 * etcd's v3election recipe (clientv3/concurrency Election, as etcd's Election service runs it):
 * candidates of election `name` put `name/<lease hex>` with their value; the oldest such key
 * is the leader. A leader is identified by its key and that key's create revision, so a
 * proclaim or resign by a term that has ended changes nothing.
 */
import { EtcdError } from '@kvfleet/core';
import type { KeyValue } from '../mvcc/kv-record.js';
import type { ConcurrencyKv } from './concurrency-kv.js';
import { CONCURRENCY_ERRORS } from './errors.js';
import { createRevisionIs, deleteOp, firstCreated, getKey, getOp, ownershipKey, putOp, rangeAt, recipePrefix } from './kv-requests.js';
import { sessionLease } from './session-lease.js';
import { waitDeletes } from './wait-deletes.js';

/** One leadership term (v3electionpb.LeaderKey). */
export interface LeaderKey {
  readonly name: Uint8Array;
  readonly key: Uint8Array;
  /** The key's create revision: the term's identity. */
  readonly rev: number;
  readonly lease: number;
}

/**
 * Campaigns with `value` under `lease` (0: a fresh session lease) and resolves once leader.
 * Campaigning again with the lease of a live candidacy resumes it (updating its value). If
 * `signal` aborts while waiting, the candidacy is withdrawn.
 */
export async function campaign(
  kv: ConcurrencyKv,
  name: Uint8Array,
  lease: number,
  value: Uint8Array,
  signal: AbortSignal,
): Promise<{ leader: LeaderKey; revision: number }> {
  const id = await sessionLease(kv, lease);
  const prefix = recipePrefix(name);
  const key = ownershipKey(prefix, id);
  const out = await kv.txn({
    compare: [createRevisionIs(key, 0)],
    success: [putOp(key, value, id)],
    failure: [getOp(getKey(key))],
  });
  let rev = out.revision;
  if (!out.result.succeeded) {
    const existing = rangeAt(out.result.responses, 0).kvs[0]!;
    rev = existing.createRevision;
    if (!Buffer.from(existing.value).equals(Buffer.from(value))) {
      try {
        await proclaim(kv, { key, rev, lease: id }, value);
      } catch (e) {
        await resign(kv, { key, rev }).catch(() => undefined);
        throw e;
      }
    }
  }
  try {
    await waitDeletes(kv, prefix, rev - 1, signal);
  } catch (e) {
    // As etcd: only a canceled campaign withdraws; a failed read leaves the candidacy standing.
    if (signal.aborted) await resign(kv, { key, rev }).catch(() => undefined);
    throw e;
  }
  // etcd answers with the header of the campaign's own write, not of the wait.
  return { leader: { name, key, rev, lease: id }, revision: out.revision };
}

/** Updates the leader's value if `leader`'s term is still current; else `election: not leader`. */
export async function proclaim(
  kv: ConcurrencyKv,
  leader: { readonly key: Uint8Array; readonly rev: number; readonly lease: number },
  value: Uint8Array,
): Promise<{ revision: number }> {
  const out = await kv.txn({
    compare: [createRevisionIs(leader.key, leader.rev)],
    success: [putOp(leader.key, value, leader.lease)],
    failure: [],
  });
  if (!out.result.succeeded) throw new EtcdError(CONCURRENCY_ERRORS.ErrElectionNotLeader);
  return { revision: out.revision };
}

/**
 * Proclaim as etcd's service runs it: a resumed session first, so lease 0 means a freshly
 * granted lease that the updated key is then put with.
 */
export async function proclaimAs(kv: ConcurrencyKv, leader: LeaderKey, value: Uint8Array): Promise<{ revision: number }> {
  const lease = await sessionLease(kv, leader.lease);
  return proclaim(kv, { key: leader.key, rev: leader.rev, lease }, value);
}

/** Ends `leader`'s term by deleting its key, if the term is still current; otherwise does nothing. */
export async function resign(kv: ConcurrencyKv, leader: { readonly key: Uint8Array; readonly rev: number }): Promise<{ revision: number }> {
  const out = await kv.txn({ compare: [createRevisionIs(leader.key, leader.rev)], success: [deleteOp(leader.key)], failure: [] });
  return { revision: out.revision };
}

/** The current leader's key-value (the oldest key under `name/`); `election: no leader` if none. */
export async function currentLeader(kv: ConcurrencyKv, name: Uint8Array): Promise<{ kv: KeyValue; revision: number }> {
  const read = await kv.range(firstCreated(recipePrefix(name)));
  const first = read.kvs[0];
  if (first === undefined) throw new EtcdError(CONCURRENCY_ERRORS.ErrElectionNoLeader);
  return { kv: first, revision: read.revision };
}
