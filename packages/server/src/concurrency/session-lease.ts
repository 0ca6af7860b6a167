/**
 * The lease a lock or election call works under. etcd's services open a concurrency session
 * with the caller's lease; lease 0 ("none") makes that session grant a fresh one with the
 * session's default TTL, which nobody keeps alive: the key lives for at most that long.
 */
import type { ConcurrencyKv } from './concurrency-kv.js';

/** clientv3/concurrency's defaultSessionTTL, in seconds. */
export const DEFAULT_SESSION_TTL_SECONDS = 60;

export async function sessionLease(kv: ConcurrencyKv, lease: number): Promise<number> {
  return lease !== 0 ? lease : kv.grantLease(DEFAULT_SESSION_TTL_SECONDS);
}
