/**
 * etcd's membership rules, pure: what a member change carries through Raft (the ConfChange
 * context), which changes are valid against the current member list, how a list changes when
 * one is applied, and etcd's "strict reconfig" checks that refuse a change that would leave
 * the cluster without a working quorum. No I/O, no clocks: the caller passes what it knows.
 */
import { EtcdError, ETCD_ERRORS } from '@kvfleet/core';
import { ConfChangeType, type ConfChange } from '../raft/types.js';
import type { MemberInfo } from '../member/cluster-config.js';

/** etcd 3.4 allows one learner at a time. */
export const MAX_LEARNERS = 1;
/** etcd promotes a learner only once its log matches at least this share of the leader's. */
export const LEARNER_READY_PERCENT = 0.9;

export type MemberChangeKind = 'add' | 'remove' | 'update' | 'promote';

/** One membership change as proposed: the member as it should be afterwards (for remove: as it was). */
export interface MemberChange {
  readonly kind: MemberChangeKind;
  readonly member: MemberInfo;
  /** The proposer's waiter; 0 when nobody waits. */
  readonly requestId: number;
}

interface ContextRecord {
  readonly kind: MemberChangeKind;
  readonly requestId: number;
  readonly member: MemberInfo;
}

/** The Raft entry for a change: etcd's ConfChange with the member in its context. */
export function confChangeFor(change: MemberChange): ConfChange {
  const record: ContextRecord = { kind: change.kind, requestId: change.requestId, member: plainMember(change.member) };
  return { type: confChangeTypeOf(change), nodeId: change.member.id, context: new TextEncoder().encode(JSON.stringify(record)) };
}

function confChangeTypeOf(change: MemberChange): ConfChangeType {
  switch (change.kind) {
    case 'add':
      return change.member.isLearner ? ConfChangeType.AddLearner : ConfChangeType.AddNode;
    case 'promote':
      return ConfChangeType.AddNode;
    case 'remove':
      return ConfChangeType.RemoveNode;
    case 'update':
      return ConfChangeType.UpdateNode;
  }
}

/**
 * The change a committed ConfChange stands for. A change without a context (written by Raft
 * tests or older entries) still says what happened to the node in Raft's terms.
 */
export function memberChangeFromConfChange(cc: ConfChange): MemberChange {
  if (cc.context === undefined) {
    const kind: MemberChangeKind = cc.type === ConfChangeType.RemoveNode ? 'remove' : cc.type === ConfChangeType.UpdateNode ? 'update' : 'add';
    const member: MemberInfo = { id: cc.nodeId, name: '', peerUrls: [], clientUrls: [], isLearner: cc.type === ConfChangeType.AddLearner };
    return { kind, member, requestId: 0 };
  }
  const r = JSON.parse(new TextDecoder().decode(cc.context)) as ContextRecord;
  const m = r.member;
  if (
    typeof r.requestId !== 'number' ||
    !['add', 'remove', 'update', 'promote'].includes(r.kind) ||
    typeof m?.name !== 'string' ||
    !Array.isArray(m.peerUrls) ||
    !Array.isArray(m.clientUrls) ||
    m.id !== cc.nodeId
  ) {
    throw new Error(`corrupt conf change context for member ${cc.nodeId.toString(16)}`);
  }
  return { kind: r.kind, requestId: r.requestId, member: plainMember({ ...m, isLearner: m.isLearner === true }) };
}

function plainMember(m: MemberInfo): MemberInfo {
  return { id: m.id, name: m.name, peerUrls: [...m.peerUrls], clientUrls: [...m.clientUrls], isLearner: m.isLearner };
}

/**
 * etcd's ValidateConfigurationChange: whether `change` may be applied to `members`. `removed`
 * holds ids removed before (etcd never lets one come back).
 */
export function validateMemberChange(
  members: readonly MemberInfo[],
  change: MemberChange,
  removed: ReadonlySet<number> = new Set(),
): EtcdError | undefined {
  const { member } = change;
  const existing = members.find((m) => m.id === member.id);
  switch (change.kind) {
    case 'add': {
      if (removed.has(member.id)) return new EtcdError(ETCD_ERRORS.ErrGRPCMemberExist);
      if (existing !== undefined) return new EtcdError(ETCD_ERRORS.ErrGRPCMemberExist);
      if (peerUrlTaken(members, member)) return new EtcdError(ETCD_ERRORS.ErrGRPCPeerURLExist);
      if (member.isLearner && members.filter((m) => m.isLearner).length >= MAX_LEARNERS) {
        return new EtcdError(ETCD_ERRORS.ErrGRPCTooManyLearners);
      }
      return undefined;
    }
    case 'remove':
      return existing === undefined ? new EtcdError(ETCD_ERRORS.ErrGRPCMemberNotFound) : undefined;
    case 'update':
      if (existing === undefined) return new EtcdError(ETCD_ERRORS.ErrGRPCMemberNotFound);
      return peerUrlTaken(members, member) ? new EtcdError(ETCD_ERRORS.ErrGRPCPeerURLExist) : undefined;
    case 'promote':
      if (existing === undefined) return new EtcdError(ETCD_ERRORS.ErrGRPCMemberNotFound);
      return existing.isLearner ? undefined : new EtcdError(ETCD_ERRORS.ErrGRPCMemberNotLearner);
  }
}

/** Whether another member already advertises one of `member`'s peer URLs. */
function peerUrlTaken(members: readonly MemberInfo[], member: MemberInfo): boolean {
  const urls = new Set(member.peerUrls);
  return members.some((m) => m.id !== member.id && m.peerUrls.some((u) => urls.has(u)));
}

/** The member list after `change`, sorted by id. Changes are assumed valid (see validateMemberChange). */
export function applyMemberChange(members: readonly MemberInfo[], change: MemberChange): MemberInfo[] {
  const { member } = change;
  const others = members.filter((m) => m.id !== member.id);
  const existing = members.find((m) => m.id === member.id);
  let next: MemberInfo[];
  switch (change.kind) {
    case 'add':
      next = [...others, plainMember(member)];
      break;
    case 'remove':
      next = others;
      break;
    case 'update':
      // Only the peer URLs change; name and client URLs are the member's own to publish.
      next = existing === undefined ? [...members] : [...others, { ...existing, peerUrls: [...member.peerUrls] }];
      break;
    case 'promote':
      next = existing === undefined ? [...members] : [...others, { ...existing, isLearner: false }];
      break;
  }
  return next.sort((a, b) => a.id - b.id);
}

/** A member that has published its name (etcd's IsStarted). */
function isStarted(m: MemberInfo): boolean {
  return m.name !== '';
}

function voters(members: readonly MemberInfo[]): MemberInfo[] {
  return members.filter((m) => !m.isLearner);
}

/** etcd's IsReadyToAddVotingMember: started voters still make a quorum once the new one counts. */
export function isReadyToAddVotingMember(members: readonly MemberInfo[]): boolean {
  const vs = voters(members);
  const nmembers = vs.length + 1;
  const nstarted = vs.filter(isStarted).length;
  // Adding a second member to a one-member cluster (restoring from a backup) is always allowed.
  if (nstarted === 1 && nmembers === 2) return true;
  return nstarted >= Math.floor(nmembers / 2) + 1;
}

/** etcd's IsReadyToRemoveVotingMember: the started voters left still make a quorum. */
export function isReadyToRemoveVotingMember(members: readonly MemberInfo[], id: number): boolean {
  const left = voters(members).filter((m) => m.id !== id);
  return left.filter(isStarted).length >= Math.floor(left.length / 2) + 1;
}

/** etcd's IsReadyToPromoteMember: counting the learner as a started voter, started voters make a quorum. */
export function isReadyToPromoteMember(members: readonly MemberInfo[]): boolean {
  const vs = voters(members);
  const nmembers = vs.length + 1;
  const nstarted = vs.filter(isStarted).length + 1;
  return nstarted >= Math.floor(nmembers / 2) + 1;
}

/** What the leader knows about connectivity: which members it heard from recently. */
export interface Connectivity {
  readonly selfId: number;
  readonly isActive: (id: number) => boolean;
}

function activeVoters(members: readonly MemberInfo[], c: Connectivity): number {
  return voters(members).filter((m) => m.id === c.selfId || c.isActive(m.id)).length;
}

/**
 * etcd's mayAddMember (strict reconfig check): a voter only while started voters make a
 * quorum with it; any member only while every voter is reachable, since a new member that
 * does not start yet counts against the quorum at once.
 */
export function checkAddMember(members: readonly MemberInfo[], isLearner: boolean, c: Connectivity): EtcdError | undefined {
  if (!isLearner && !isReadyToAddVotingMember(members)) return new EtcdError(ETCD_ERRORS.ErrGRPCMemberNotEnoughStarted);
  if (activeVoters(members, c) !== voters(members).length) return new EtcdError(ETCD_ERRORS.ErrGRPCUnhealthy);
  return undefined;
}

/** etcd's mayRemoveMember: removing a voter must leave enough reachable voters for a quorum. */
export function checkRemoveMember(members: readonly MemberInfo[], id: number, c: Connectivity): EtcdError | undefined {
  const target = members.find((m) => m.id === id);
  if (target === undefined || target.isLearner) return undefined;
  if (!isReadyToRemoveVotingMember(members, id)) return new EtcdError(ETCD_ERRORS.ErrGRPCMemberNotEnoughStarted);
  // A member that is down is not part of the working quorum: removing it costs nothing.
  if (id !== c.selfId && !c.isActive(id)) return undefined;
  const vs = voters(members);
  const active = activeVoters(members, c);
  if (active - 1 < 1 + Math.floor((vs.length - 1) / 2)) return new EtcdError(ETCD_ERRORS.ErrGRPCUnhealthy);
  return undefined;
}

/**
 * etcd's isLearnerReady: a learner is promoted only once its matched log reaches 90% of the
 * leader's. `learnerMatch` undefined means Raft does not track it (not a member): the apply
 * check then answers.
 */
export function checkLearnerReady(learnerMatch: number | undefined, leaderMatch: number): EtcdError | undefined {
  if (learnerMatch === undefined) return undefined;
  return learnerMatch < leaderMatch * LEARNER_READY_PERCENT ? new EtcdError(ETCD_ERRORS.ErrGRPCLearnerNotReady) : undefined;
}

/** etcd's mayPromoteMember after the readiness check: enough started voters. */
export function checkPromoteMember(members: readonly MemberInfo[]): EtcdError | undefined {
  return isReadyToPromoteMember(members) ? undefined : new EtcdError(ETCD_ERRORS.ErrGRPCMemberNotEnoughStarted);
}
