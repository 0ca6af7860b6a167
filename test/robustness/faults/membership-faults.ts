/**
 * Membership churn: a member (a follower, or the leader) is removed from the cluster, and a new
 * member takes its place, added as a learner on the same URLs from an empty data dir (it
 * catches up by snapshot and log), then promoted once in sync, as an operator replacing a
 * machine would do. Clients and watchers on its URL see it go and come back.
 */
import { proto, type RandomSource } from '@kvfleet/core';
import type { Cluster } from '../../harness/cluster.js';
import { findLeader, sleep, type MemberClients } from '../../harness/kv-checks.js';
import { grpcTarget } from '../../harness/probe.js';
import { arm, crashed } from './failpoint-faults.js';

export const MEMBERSHIP_FAULTS = ['replace-follower', 'replace-leader', 'crash-applying-conf-change'] as const;
export type MembershipFault = (typeof MEMBERSHIP_FAULTS)[number];

export function isMembershipFault(fault: string): fault is MembershipFault {
  return (MEMBERSHIP_FAULTS as readonly string[]).includes(fault);
}

/** Membership faults that arm failpoints (their members need FAILPOINT_ENV). */
export function membershipNeedsFailpoints(fault: string): boolean {
  return fault === 'crash-applying-conf-change';
}

/** Retries `call` until it succeeds or `timeoutMs` passes (membership calls fail while a change is in progress). */
async function eventually<T>(what: string, call: () => Promise<T>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (e) {
      if (Date.now() > until) throw new Error(`${what}: ${(e as Error).message}`);
      await sleep(250);
    }
  }
}

let generation = 0;

export async function injectMembershipFault(fault: MembershipFault, cluster: Cluster, members: readonly MemberClients[], rng: RandomSource): Promise<string> {
  const leader = await findLeader([...members], (i) => cluster.member(i).running);
  const followers = Array.from({ length: cluster.size }, (_, i) => i).filter((i) => i !== leader);
  const target = fault === 'replace-leader' ? leader : followers[rng.int(followers.length)]!;
  const survivor = followers.find((i) => i !== target)!;
  // The survivor dies applying the removal and must apply it again on restart.
  const crashing = fault === 'crash-applying-conf-change' ? survivor : undefined;
  if (crashing !== undefined) await arm(cluster.member(crashing).clientUrl, 'beforeApplyConfChange', 'crash');
  const old = cluster.member(target);
  // Membership calls go to a member that stays up (the leader when the survivor is set to crash).
  const adminMember = crashing === undefined ? survivor : leader;
  const admin = proto.createClient('Cluster', grpcTarget(cluster.member(adminMember).clientUrl));
  try {
    const status = await proto.unaryCall(members[target]!.maintenance.Status.bind(members[target]!.maintenance), {}, undefined, { deadline: Date.now() + 2_000 });
    const oldId = status.header!.memberId!;
    await eventually('member remove', () => proto.unaryCall(admin.MemberRemove.bind(admin), { ID: oldId }, undefined, { deadline: Date.now() + 5_000 }), 30_000);
    let crashNote = '';
    if (crashing !== undefined) {
      // It dies applying the removal; the two that are left need it back for a quorum.
      const died = await crashed(cluster, crashing, 10_000);
      if (died) await cluster.restart(crashing);
      else await arm(cluster.member(crashing).clientUrl, 'beforeApplyConfChange', 'off');
      crashNote = died ? `; member ${crashing} crashed applying the removal and was restarted` : '; the conf-change failpoint was not reached';
    }
    const added = await eventually(
      'member add',
      () => proto.unaryCall(admin.MemberAdd.bind(admin), { peerURLs: [old.peerUrl], isLearner: true }, undefined, { deadline: Date.now() + 5_000 }),
      30_000,
    );
    generation += 1;
    const name = `${old.name}-r${generation}`;
    const initialCluster = added.members.map((m) => `${m.name === '' ? name : m.name}=${m.peerURLs[0]!}`).join(',');
    const replace: Record<string, string> = { '--name': name, '--initial-cluster': initialCluster, '--initial-cluster-state': 'existing' };
    const command = old.command.map((arg, i) => (i > 0 && replace[old.command[i - 1]!] !== undefined ? replace[old.command[i - 1]!]! : arg));
    await cluster.swap(target, command);
    // Promotion is refused until the learner is in sync with the leader.
    await eventually('member promote', () => proto.unaryCall(admin.MemberPromote.bind(admin), { ID: added.member!.ID }, undefined, { deadline: Date.now() + 5_000 }), 90_000);
    await cluster.waitHealthy(target);
    return `member ${target}${target === leader ? ' (leader)' : ''} removed and replaced by a new member (learner, then promoted)${crashNote}`;
  } finally {
    admin.close();
  }
}
