/**
 * etcd's lease limits and timing defaults (server/lease/lessor.go, etcdserver/server.go, v3.5),
 * and the rule etcd uses to derive the minimum TTL from its Raft timing.
 */
import { LeaseError } from './errors.js';

/** Largest TTL a grant may ask for, in seconds (etcd's MaxLeaseTTL). */
export const MAX_LEASE_TTL = 9_000_000_000;
/** Leases revoked per second at most (etcd's leaseRevokeRate); also the promote spreading rate. */
export const DEFAULT_REVOKE_RATE = 1000;
/** How often the leader checkpoints a long lease's remaining TTL (etcd: 5 minutes). */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5 * 60 * 1000;
/**
 * How long after reporting an expired lease the lessor reports it again if its revoke has not
 * applied (etcd's default; its server passes its request timeout instead).
 */
export const DEFAULT_EXPIRED_RETRY_MS = 3000;
/** Lease ids are safe integers: kvfleet keeps them below 2^53 (etcd's are int64). */
export const MAX_LEASE_ID = Number.MAX_SAFE_INTEGER;

/**
 * The minimum lease TTL in seconds, as etcd's server computes it: (3 * electionTicks / 2)
 * heartbeats (integer division on ticks), rounded up to whole seconds. So a lease outlives at
 * least one and a half election timeouts. etcd's defaults (10 ticks of 100 ms) give 2.
 */
export function minLeaseTtlSeconds(electionTicks: number, heartbeatMs: number): number {
  if (!Number.isSafeInteger(electionTicks) || electionTicks < 1 || !(heartbeatMs > 0) || !Number.isFinite(heartbeatMs)) {
    throw new LeaseError('ErrLeaseInvalidArgument', `election ticks ${String(electionTicks)}, heartbeat ${String(heartbeatMs)} ms`);
  }
  const ms = Math.floor((3 * electionTicks) / 2) * heartbeatMs;
  return Math.max(1, Math.ceil(ms / 1000));
}
