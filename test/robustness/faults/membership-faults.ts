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

export const MEMBERSHIP_FAULTS = [
  'replace-follower',
  'replace-leader',
  'crash-applying-conf-change',
  'remove-leader-restart-all',
  'two-voters-remove-leader-restart-all',
] as const;
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

type ClusterClient = proto.ServiceClient<'Cluster'>;
type MemberId = NonNullable<Awaited<ReturnType<typeof memberId>>>;

export async function injectMembershipFault(fault: MembershipFault, cluster: Cluster, members: readonly MemberClients[], rng: RandomSource): Promise<string> {
  const leader = await findLeader([...members], (i) => cluster.member(i).running);
  const followers = Array.from({ length: cluster.size }, (_, i) => i).filter((i) => i !== leader);
  if (fault === 'two-voters-remove-leader-restart-all') return twoVotersRemoveLeader(cluster, members, leader, followers, rng);
  const target = fault === 'replace-leader' || fault === 'remove-leader-restart-all' ? leader : followers[rng.int(followers.length)]!;
  const survivor = followers.find((i) => i !== target)!;
  // The survivor dies applying the removal and must apply it again on restart.
  const crashing = fault === 'crash-applying-conf-change' ? survivor : undefined;
  if (crashing !== undefined) await arm(cluster.member(crashing).clientUrl, 'beforeApplyConfChange', 'crash');
  // Membership calls go to a member that stays up (the leader when the survivor is set to crash).
  const adminMember = crashing === undefined ? survivor : leader;
  const admin = proto.createClient('Cluster', grpcTarget(cluster.member(adminMember).clientUrl));
  try {
    await removeMember(admin, await memberId(members, target));
    let crashNote = '';
    if (fault === 'remove-leader-restart-all') crashNote = await restartAll(cluster, target, followers);
    if (crashing !== undefined) {
      // It dies applying the removal; the two that are left need it back for a quorum.
      const died = await crashed(cluster, crashing, 10_000);
      if (died) await cluster.restart(crashing);
      else await arm(cluster.member(crashing).clientUrl, 'beforeApplyConfChange', 'off');
      crashNote = died ? `; member ${crashing} crashed applying the removal and was restarted` : '; the conf-change failpoint was not reached';
    }
    await replaceMember(cluster, admin, target);
    return `member ${target}${target === leader ? ' (leader)' : ''} removed and replaced by a new member (learner, then promoted)${crashNote}`;
  } finally {
    admin.close();
  }
}

/**
 * The shape the simulator found (issue 24) with real processes: a follower is removed, leaving
 * two voters; then the leader is removed (its removal commits only with the survivor's
 * acknowledgement) and both are killed at once and started again. The survivor may not know
 * the removal committed and then needs the removed leader's vote, which the removed leader
 * cannot give when its log is longer: only the removed leader's hand-over gets the survivor
 * going. Then both removed members are replaced, one after the other.
 */
async function twoVotersRemoveLeader(cluster: Cluster, members: readonly MemberClients[], leader: number, followers: readonly number[], rng: RandomSource): Promise<string> {
  const gone = followers[rng.int(followers.length)]!;
  const survivor = followers.find((i) => i !== gone)!;
  const admin = proto.createClient('Cluster', grpcTarget(cluster.member(survivor).clientUrl));
  try {
    await removeMember(admin, await memberId(members, gone));
    await cluster.member(gone).kill('SIGKILL');
    // Asked of the leader, which answers once it applied its removal: the survivor may not
    // have heard of the commit yet when both die.
    const leaderAdmin = proto.createClient('Cluster', grpcTarget(cluster.member(leader).clientUrl));
    try {
      await removeMember(leaderAdmin, await memberId(members, leader));
    } finally {
      leaderAdmin.close();
    }
    const note = await restartAll(cluster, leader, [survivor]);
    await replaceMember(cluster, admin, gone);
    await replaceMember(cluster, admin, leader);
    return `member ${gone} removed (two voters left), then member ${leader} (leader) removed${note}; both replaced by new members`;
  } finally {
    admin.close();
  }
}

async function memberId(members: readonly MemberClients[], index: number) {
  const m = members[index]!.maintenance;
  const status = await proto.unaryCall(m.Status.bind(m), {}, undefined, { deadline: Date.now() + 2_000 });
  return status.header!.memberId!;
}

async function removeMember(admin: ClusterClient, id: MemberId): Promise<void> {
  await eventually('member remove', () => proto.unaryCall(admin.MemberRemove.bind(admin), { ID: id }, undefined, { deadline: Date.now() + 5_000 }), 30_000);
}

/** A new member on `target`'s URLs from an empty data dir: added as a learner, promoted once in sync. */
async function replaceMember(cluster: Cluster, admin: ClusterClient, target: number): Promise<void> {
  const old = cluster.member(target);
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
}

/** How long a removed member gets to notice its removal and stop by itself. */
const REMOVED_EXIT_MS = 20_000;

/**
 * Kills every member at once and starts them all again (the removed one first, from its data
 * dir); resolves once the survivors serve linearizable reads (they elected a leader) and the
 * removed one is gone, by itself or, failing that, reported.
 */
async function restartAll(cluster: Cluster, removed: number, survivors: readonly number[]): Promise<string> {
  // The survivors first: the sooner they die, the likelier they missed the commit.
  const all = [...survivors, removed];
  await Promise.all(all.map((i) => cluster.member(i).kill('SIGKILL')));
  cluster.start(removed);
  await Promise.all(survivors.map((i) => cluster.restart(i)));
  const until = Date.now() + REMOVED_EXIT_MS;
  while (cluster.member(removed).running && Date.now() < until) await sleep(200);
  if (cluster.member(removed).running) {
    throw new Error(`member ${removed}, removed, still runs ${REMOVED_EXIT_MS} ms after the survivors recovered a leader\n${cluster.logs()}`);
  }
  return `; every member was killed right after and restarted (the removed one from its data dir): the others elected a leader and it stopped by itself`;
}
