/**
 * The member's view of the cluster and the changes to it: applies committed membership changes
 * and published member attributes (members bucket and consistent index in one backend write,
 * transport peers updated at once), and, on the leader, admits MemberAdd/Remove/Update/Promote
 * with etcd's checks before proposing them. Changes are admitted one at a time and only once
 * the local state reflects everything committed, so each check sees the list it will change.
 */
import { EtcdError, ETCD_ERRORS, failpointsOn, hit } from '@kvfleet/core';
import { decodeConfChange } from '../raft/confchange.js';
import type { RaftNode } from '../raft/raft-node.js';
import { isRaftError } from '../raft/errors.js';
import { StateType, type ConfChange, type Entry } from '../raft/types.js';
import type { MemberInfo } from '../member/cluster-config.js';
import { memberIdFor } from '../member/member-id.js';
import { removeMember, writeMember } from '../member/member-store.js';
import type { ConsistentIndex, WriteResult } from '../mvcc/kv-store.js';
import type { KvWriteTxn } from '../mvcc/kv-write-txn.js';
import type { MemberAttributesRequest } from '../apply/requests.js';
import type { ApplyOutcome } from './applier.js';
import type { Logger } from '../logger.js';
import {
  applyMemberChange,
  checkAddMember,
  checkLearnerReady,
  checkPromoteMember,
  checkRemoveMember,
  confChangeFor,
  memberChangeFromConfChange,
  validateMemberChange,
  type MemberChange,
} from './membership.js';
import type { PendingRequests } from './pending-requests.js';
import { withRequestTimeout } from './request-timeout.js';
import { type Clock, sleep } from '../env/clock.js';

/** Membership requests queued on the leader behind the one being admitted. */
const MAX_QUEUED_CHANGES = 64;
/** How long a change keeps retrying while Raft still holds an earlier change unapplied. */
const CONF_CHANGE_RETRY_MS = 2000;
/** Pause between attempts to publish this member's attributes. */
const PUBLISH_RETRY_MS = 500;

export interface MembershipPeers {
  addPeer(id: number, urls: readonly string[]): void;
  updatePeer(id: number, urls: readonly string[]): void;
  removePeer(id: number): void;
}

export interface MembershipDeps {
  readonly selfId: number;
  readonly clusterToken: string;
  readonly logger: Logger;
  readonly node: () => RaftNode;
  readonly peers: MembershipPeers;
  readonly pending: PendingRequests<ApplyOutcome>;
  readonly requestTimeoutMs: number;
  /** Steps a conf change into Raft; throws Raft's errors. */
  proposeConfChange(cc: ConfChange): void;
  /** Maps Raft's errors to etcd's (no leader, timeout). */
  mapError(e: unknown): unknown;
  /** Resolves once the applied index reaches `index`. */
  waitApplied(index: number): Promise<void>;
  /** One backend write recording `ci` and whatever `fn` adds. */
  write<T>(ci: ConsistentIndex, fn: (txn: KvWriteTxn) => T): Promise<WriteResult<T>>;
  /** This member applied its own removal. */
  onRemovedSelf(): void;
  /** Time: member ids hash the wall-clock time, as etcd's do; retries wait on it. */
  readonly clock: Clock;
}

export class MembershipService {
  private list: MemberInfo[];
  /** Ids removed from the cluster (applied): never admitted again, refused by the transport. */
  private removed: Set<number>;
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;

  constructor(
    private readonly deps: MembershipDeps,
    members: readonly MemberInfo[],
    removed: readonly number[],
  ) {
    this.list = sorted(members);
    this.removed = new Set(removed);
  }

  get members(): MemberInfo[] {
    return this.list;
  }

  /** Whether this member is a learner in the list it has applied. */
  get isLearner(): boolean {
    return this.list.find((m) => m.id === this.deps.selfId)?.isLearner ?? false;
  }

  /** Whether this member applied the removal of `id` (or holds it from a snapshot). */
  isRemoved(id: number): boolean {
    return this.removed.has(id);
  }

  member(id: number): MemberInfo | undefined {
    return this.list.find((m) => m.id === id);
  }

  /**
   * Starts talking to every other member in the list and refusing every removed one (at
   * start): a member removed while it was down learns it from those refusals.
   */
  connectPeers(): void {
    for (const id of this.removed) this.deps.peers.removePeer(id);
    for (const m of this.list) {
      if (m.id === this.deps.selfId) continue;
      try {
        this.deps.peers.addPeer(m.id, m.peerUrls);
      } catch (e) {
        this.deps.logger.warn('could not add a peer', { member: m.id.toString(16), error: String(e) });
      }
    }
  }

  /** The list was replaced wholesale (a snapshot from the leader): bring the peers in line. */
  replaceAll(members: readonly MemberInfo[], removed: readonly number[]): void {
    const next = sorted(members);
    const kept = new Set(next.map((m) => m.id));
    for (const m of this.list) if (!kept.has(m.id) && m.id !== this.deps.selfId) this.deps.peers.removePeer(m.id);
    this.list = next;
    this.removed = new Set([...this.removed, ...removed]);
    this.connectPeers();
    // The leader only talks to a member after applying its addition, so an image without us means removed.
    if (!kept.has(this.deps.selfId)) this.deps.onRemovedSelf();
  }

  // ---- applying (every member, in log order) ------------------------------------------

  /**
   * Applies a committed ConfChange entry. Raft changes its own configuration for the entry
   * whatever happens here, so the list follows it: only a change Raft also ignores (adding a
   * member twice, removing or promoting one that is not there) is refused, with etcd's error.
   */
  async applyConfChange(entry: Entry, ci: ConsistentIndex): Promise<void> {
    if (failpointsOn) await hit('beforeApplyConfChange');
    let change: MemberChange;
    try {
      change = memberChangeFromConfChange(decodeConfChange(entry.data));
    } catch (e) {
      if (!isRaftError(e, 'ErrInvalidConfig')) throw e;
      this.deps.logger.warn('skipped an invalid conf change entry', { index: entry.index, error: String(e) });
      await this.deps.write(ci, () => undefined);
      return;
    }
    const refused = validateMemberChange(this.list, change);
    const raftIgnores =
      refused !== undefined &&
      (refused.entry === ETCD_ERRORS.ErrGRPCMemberExist ||
        refused.entry === ETCD_ERRORS.ErrGRPCMemberNotFound ||
        refused.entry === ETCD_ERRORS.ErrGRPCMemberNotLearner);
    if (raftIgnores) {
      await this.deps.write(ci, () => undefined);
      this.deps.pending.settle(change.requestId, { ok: false, error: refused });
      return;
    }
    const next = applyMemberChange(this.list, change);
    const written = await this.deps.write(ci, (txn) => {
      if (change.kind === 'remove') removeMember(txn, change.member.id);
      else writeMember(txn, next.find((m) => m.id === change.member.id)!);
    });
    const before = this.list;
    this.list = next;
    if (change.kind === 'remove') this.removed.add(change.member.id);
    this.updatePeers(change, before);
    this.deps.logger.info(`applied member ${change.kind}`, { member: change.member.id.toString(16), index: entry.index });
    this.deps.pending.settle(change.requestId, { ok: true, value: { revision: written.revision, body: next } });
    if (change.kind === 'remove' && change.member.id === this.deps.selfId) this.deps.onRemovedSelf();
  }

  private updatePeers(change: MemberChange, before: readonly MemberInfo[]): void {
    const { id } = change.member;
    if (id === this.deps.selfId) return;
    try {
      if (change.kind === 'remove') this.deps.peers.removePeer(id);
      else if (change.kind === 'add') this.deps.peers.addPeer(id, change.member.peerUrls);
      else if (change.kind === 'update' && before.some((m) => m.id === id)) this.deps.peers.updatePeer(id, change.member.peerUrls);
    } catch (e) {
      // The list is what matters; a peer that cannot be dialled shows up as unreachable.
      this.deps.logger.warn('could not update the peer transport', { member: id.toString(16), error: String(e) });
    }
  }

  /** Applies a member's published name and client URLs inside the entry's backend write. */
  applyAttributes(req: MemberAttributesRequest, txn: KvWriteTxn): Record<string, never> {
    const existing = this.list.find((m) => m.id === req.ID);
    // A member removed before its publish committed stays removed.
    if (existing === undefined) return {};
    const updated: MemberInfo = { ...existing, name: req.name, clientUrls: [...req.clientUrls] };
    writeMember(txn, updated);
    this.list = sorted([...this.list.filter((m) => m.id !== req.ID), updated]);
    return {};
  }

  /**
   * etcd's publish: proposes this member's name and client URLs through Raft, so every member
   * lists them, retrying until one is applied or `stop` aborts (the member stops).
   */
  async publish(attributes: MemberAttributesRequest, propose: (req: MemberAttributesRequest) => Promise<unknown>, stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      try {
        await propose(attributes);
        this.deps.logger.info('published member attributes', { name: attributes.name, clientUrls: attributes.clientUrls });
        return;
      } catch (e) {
        this.deps.logger.debug('publishing member attributes failed; retrying', { error: String(e) });
        await sleep(this.deps.clock, PUBLISH_RETRY_MS, stop);
      }
    }
  }

  // ---- admitting changes (leader) -----------------------------------------------------

  /** etcd's MemberAdd: a new member (no name until it starts and publishes). */
  addMember(peerUrls: readonly string[], isLearner: boolean): Promise<{ member: MemberInfo; members: MemberInfo[] }> {
    return this.serialize(async () => {
      const nowSeconds = Math.floor(this.deps.clock.now() / 1000);
      const member: MemberInfo = {
        id: memberIdFor(peerUrls, this.deps.clusterToken, nowSeconds),
        name: '',
        peerUrls: [...peerUrls],
        clientUrls: [],
        isLearner,
      };
      const unsafe = checkAddMember(this.list, isLearner, this.connectivity());
      if (unsafe !== undefined) throw unsafe;
      const members = await this.propose({ kind: 'add', member, requestId: 0 });
      return { member, members };
    });
  }

  /** etcd's MemberRemove. */
  removeMember(id: number): Promise<MemberInfo[]> {
    return this.serialize(async () => {
      const unsafe = checkRemoveMember(this.list, id, this.connectivity());
      if (unsafe !== undefined) throw unsafe;
      const member = this.member(id) ?? { id, name: '', peerUrls: [], clientUrls: [], isLearner: false };
      return this.propose({ kind: 'remove', member, requestId: 0 });
    });
  }

  /** etcd's MemberUpdate: new peer URLs for a member. */
  updateMember(id: number, peerUrls: readonly string[]): Promise<MemberInfo[]> {
    return this.serialize(async () => {
      const existing = this.member(id);
      const member = { ...(existing ?? { id, name: '', clientUrls: [], isLearner: false }), peerUrls: [...peerUrls] };
      return this.propose({ kind: 'update', member, requestId: 0 });
    });
  }

  /** etcd's MemberPromote: only on the leader, which alone knows how far the learner got. */
  promoteMember(id: number): Promise<MemberInfo[]> {
    return this.serialize(async () => {
      const existing = this.member(id);
      if (existing?.isLearner === true) {
        const node = this.deps.node();
        const learner = node.progressOf(id);
        const leader = node.progressOf(this.deps.selfId);
        if (leader === undefined) throw new EtcdError(ETCD_ERRORS.ErrGRPCNotLeader);
        const notReady = checkLearnerReady(learner?.match, leader.match);
        if (notReady !== undefined) throw notReady;
        const notEnough = checkPromoteMember(this.list);
        if (notEnough !== undefined) throw notEnough;
      }
      const member = { ...(existing ?? { id, name: '', peerUrls: [], clientUrls: [] }), isLearner: false };
      return this.propose({ kind: 'promote', member, requestId: 0 });
    });
  }

  /** Runs one admission at a time, after local state caught up with everything committed. */
  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    if (this.queued >= MAX_QUEUED_CHANGES) return Promise.reject(new EtcdError(ETCD_ERRORS.ErrGRPCRequestTooManyRequests));
    this.queued++;
    const run = this.tail.then(async () => {
      const node = this.deps.node();
      if (node.state !== StateType.Leader) throw new EtcdError(ETCD_ERRORS.ErrGRPCNotLeader);
      await this.deps.waitApplied(node.logView().committed());
      return fn();
    });
    this.tail = run.catch(() => undefined).finally(() => this.queued--);
    return run;
  }

  /** Proposes a checked change and waits for it to be applied; resolves with the new list. */
  private async propose(change: MemberChange): Promise<MemberInfo[]> {
    const invalid = validateMemberChange(this.list, change, this.removed);
    if (invalid !== undefined) throw invalid;
    const { id, done } = this.deps.pending.register<ApplyOutcome<MemberInfo[]>>();
    const cc = confChangeFor({ ...change, requestId: id });
    const deadline = this.deps.clock.monotonic() + CONF_CHANGE_RETRY_MS;
    for (;;) {
      try {
        this.deps.proposeConfChange(cc);
        break;
      } catch (e) {
        // Raft takes no change while an earlier one is unapplied (a new leader's own first
        // entry included); that clears within a few ticks.
        if (isRaftError(e, 'ErrProposalDropped') && this.deps.node().state === StateType.Leader && this.deps.clock.monotonic() < deadline) {
          await sleep(this.deps.clock, 20);
          continue;
        }
        this.deps.pending.forget(id);
        throw this.deps.mapError(e);
      }
    }
    const outcome = await withRequestTimeout(this.deps.clock, done, this.deps.requestTimeoutMs, () => this.deps.pending.forget(id));
    return outcome.body;
  }

  /**
   * Voters the leader is connected to (etcd asks its transport): heard from in this check-quorum
   * round or the one before (right after a round starts nobody has answered yet, and a request
   * then would see every peer as gone), and not probing, which is where a broken stream
   * (MsgUnreachable) puts them.
   */
  private connectivity(): { selfId: number; isActive: (id: number) => boolean } {
    const node = this.deps.node();
    return {
      selfId: this.deps.selfId,
      isActive: (id) => {
        const p = node.progressOf(id);
        return p !== undefined && (p.recentActive || p.activeLastRound) && !p.probing;
      },
    };
  }
}

function sorted(members: readonly MemberInfo[]): MemberInfo[] {
  return [...members].sort((a, b) => a.id - b.id);
}
