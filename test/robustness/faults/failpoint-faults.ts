/**
 * Faults from inside a member: failpoints armed at runtime through the member's
 * `PUT /debug/failpoints/<name>` (served only because the harness starts members with
 * KVFLEET_FAILPOINTS set). A crash failpoint SIGKILLs the member at that exact point of its
 * write path (before or after the WAL save, before the backend commit, in the middle of a
 * compaction); the harness then restarts it. A sleep failpoint slows that point for a while.
 */
import type { RandomSource } from '@kvfleet/core';
import type { Cluster } from '../../harness/cluster.js';
import { findLeader, sleep, type MemberClients } from '../../harness/kv-checks.js';

export const FAILPOINT_FAULTS = ['crash-in-write-path', 'slow-wal', 'bug-leader-acks-put-then-crashes'] as const;
export type FailpointFault = (typeof FAILPOINT_FAULTS)[number];

/** Sites on every member's write path (the snapshot and membership sites need their own scenarios). */
const CRASH_SITES = ['walBeforeSave', 'walAfterSave', 'backendBeforeCommit', 'backendAfterCommit', 'compactBeforeDelete'] as const;

/** The environment members need for runtime failpoints. */
export const FAILPOINT_ENV = { KVFLEET_FAILPOINTS: '' } as const;

export function isFailpointFault(fault: string): fault is FailpointFault {
  return (FAILPOINT_FAULTS as readonly string[]).includes(fault);
}

/** Waits up to `timeoutMs` for member `i` to die at a crash failpoint; true if it did. */
export async function crashed(cluster: Cluster, i: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (cluster.member(i).running && Date.now() < until) await sleep(50);
  return !cluster.member(i).running;
}

/** Sets failpoint `name` to `action` on the member at `clientUrl`. */
export async function arm(clientUrl: string, name: string, action: string): Promise<void> {
  const res = await fetch(new URL(`/debug/failpoints/${name}`, clientUrl), { method: 'PUT', body: action, signal: AbortSignal.timeout(2_000) });
  if (res.status !== 204) throw new Error(`arming ${name}=${action} on ${clientUrl}: HTTP ${res.status} ${await res.text()}`);
}

export async function injectFailpointFault(fault: FailpointFault, cluster: Cluster, members: readonly MemberClients[], rng: RandomSource): Promise<string> {
  const leader = await findLeader([...members], (i) => cluster.member(i).running);
  const i = rng.chance(0.5) ? leader : (leader + 1 + rng.int(cluster.size - 1)) % cluster.size;
  const who = `member ${i}${i === leader ? ' (leader)' : ''}`;
  const m = cluster.member(i);
  if (fault === 'bug-leader-acks-put-then-crashes') {
    const l = cluster.member(leader);
    await arm(l.clientUrl, 'putAckThenCrash', 'crash');
    const died = await crashed(cluster, leader, 10_000);
    await cluster.restart(leader);
    return died ? `leader ${leader} acknowledged a put it never made durable and crashed (known bug), restarted` : 'no put reached the armed leader';
  }
  if (fault === 'slow-wal') {
    const ms = 50 + rng.int(300);
    const site = rng.chance(0.5) ? 'walBeforeSave' : 'walAfterSave';
    await arm(m.clientUrl, site, `sleep(${ms})`);
    await sleep(2_000 + rng.int(2_000));
    await arm(m.clientUrl, site, 'off');
    return `${who}'s WAL saves slowed by ${ms} ms (${site}) for a while`;
  }
  const site = CRASH_SITES[rng.int(CRASH_SITES.length)]!;
  await arm(m.clientUrl, site, 'crash');
  if (!(await crashed(cluster, i, 8_000))) {
    // Nothing reached the site in time (no compaction came): disarm and move on.
    await arm(m.clientUrl, site, 'off');
    return `${who}: failpoint ${site}=crash not reached in 8 s`;
  }
  await sleep(300 + rng.int(1_000));
  await cluster.restart(i);
  return `${who} crashed at failpoint ${site}, restarted`;
}
