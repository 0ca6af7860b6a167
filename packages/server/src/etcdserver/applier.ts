/**
 * The member's state machine: applies committed entries to the MVCC store and the lessor,
 * settles the proposer's waiter with the result, and feeds watchers. Deterministic: every
 * member computes the same state from the same entries.
 *
 * An entry at or below the store's consistent index is skipped: its effects are already in
 * the backend (a restart replays the WAL from the snapshot; a received snapshot image may be
 * ahead of its metadata). Entries without a KV effect (the leader's empty entry, membership
 * changes) still record their index, so the stored consistent index is always the applied one.
 *
 * A request that fails (unknown lease, compacted revision...) changes nothing and settles its
 * waiter with the error; any other failure (disk, corrupt entry) is fatal for the member.
 */
import { EtcdError, ETCD_ERRORS } from '@kvfleet/core';
import type { ConsistentIndex, KvStore, KvWriteTxn } from '../mvcc/kv-store.js';
import { MvccError } from '../mvcc/errors.js';
import { isLeaseError } from '../lease/errors.js';
import { EntryType, type Entry, type Snapshot } from '../raft/types.js';
import type { Lessor } from '../lease/lessor.js';
import type { WatchHub } from '@kvfleet/core';
import { decodeInternalRequest } from '../apply/internal-codec.js';
import { applyDeleteRange, applyPut, applyTxn, type LeaseBinding, type OpContext } from '../apply/kv-ops.js';
import type { InternalRequest, MemberAttributesRequest } from '../apply/requests.js';
import type { AlarmStore } from '../maintenance/alarm-store.js';
import type { ApplyQuota } from '../maintenance/quota-alarmer.js';
import type { PendingRequests } from './pending-requests.js';
import type { StateMachine } from './raft-driver.js';

/** What a proposer gets back: the response body and the store revision after the apply. */
export interface ApplyOutcome {
  readonly revision: number;
  readonly body: unknown;
}

/** The pieces the applier works on; `kv`, `lessor` and `hub` are replaced when a snapshot is loaded. */
export interface AppliedState {
  kv: KvStore;
  lessor: Lessor;
  hub: WatchHub;
}

export interface ApplierDeps {
  readonly state: AppliedState;
  readonly pending: PendingRequests<ApplyOutcome>;
  /** Loads a received snapshot's image and rebuilds `state` from it. */
  loadSnapshot(snapshot: Snapshot): Promise<void>;
  /** The leader's empty entry of a term was applied (etcd promotes the lessor then). */
  onEmptyEntry(entry: Entry): void;
  /** Called after each batch of entries is applied (snapshot policy, metrics). */
  afterApply(lastIndex: number): Promise<void>;
  /** The cluster's alarms: alarm entries change them; a raised alarm refuses some writes. */
  readonly alarms: AlarmStore;
  /** The backend quota as the applier sees it (maintenance/quota-alarmer.ts). */
  readonly quota: ApplyQuota;
  /** Applies a membership change (its member record and `ci` in one backend write). */
  applyConfChange(entry: Entry, ci: ConsistentIndex): Promise<void>;
  /** Records a member's published name and client URLs inside the entry's write. */
  applyMemberAttributes(req: MemberAttributesRequest, txn: KvWriteTxn): unknown;
}

export class Applier implements StateMachine {
  constructor(private readonly deps: ApplierDeps) {}

  applySnapshot(snapshot: Snapshot): Promise<void> {
    return this.deps.loadSnapshot(snapshot);
  }

  async applyEntries(entries: readonly Entry[]): Promise<void> {
    for (const entry of entries) {
      if (entry.index <= this.deps.state.kv.consistentIndex.consistentIndex) continue;
      await this.applyEntry(entry);
    }
    if (entries.length > 0) await this.deps.afterApply(entries[entries.length - 1]!.index);
  }

  private async applyEntry(entry: Entry): Promise<void> {
    const ci = { consistentIndex: entry.index, consistentTerm: entry.term };
    if (entry.type === EntryType.ConfChange) {
      await this.deps.applyConfChange(entry, ci);
      return;
    }
    const request = entry.type === EntryType.Normal && entry.data.length > 0 ? decodeInternalRequest(entry.data) : undefined;
    if (request === undefined) {
      await this.deps.state.kv.write(ci, () => undefined);
      if (entry.type === EntryType.Normal && entry.data.length === 0) this.deps.onEmptyEntry(entry);
      return;
    }
    try {
      const overQuota = this.deps.quota.exceeds(request);
      const value = await this.applyRequest(ci, request);
      if (overQuota) {
        // etcd's quota applier: the write stands, but its proposer hears NOSPACE once the alarm is raised.
        const error = new EtcdError(ETCD_ERRORS.ErrGRPCNoSpace);
        void this.deps.quota.raise().finally(() => this.deps.pending.settle(request.id, { ok: false, error }));
      } else {
        this.deps.pending.settle(request.id, { ok: true, value });
      }
    } catch (error) {
      if (!isRequestError(error)) throw error;
      // The failed write recorded nothing; record that the entry is applied.
      await this.deps.state.kv.write(ci, () => undefined);
      this.deps.pending.settle(request.id, { ok: false, error });
    }
  }

  private async applyRequest(ci: { consistentIndex: number; consistentTerm: number }, req: InternalRequest): Promise<ApplyOutcome> {
    const { state } = this;
    const refused = this.deps.alarms.refusal(req);
    if (refused !== undefined) throw refused;
    if ('alarm' in req) {
      const alarmReq = req.alarm;
      const written = await state.kv.write(ci, (txn) => this.deps.alarms.apply(alarmReq, txn));
      return { revision: written.revision, body: { alarms: written.result } };
    }
    if ('compaction' in req) {
      await state.kv.compact(req.compaction.revision);
      await state.kv.write(ci, () => undefined);
      return { revision: state.kv.currentRevision, body: {} };
    }
    const written = await state.kv.write(ci, (txn) => this.run(txn, req));
    if (written.events.length > 0) {
      state.hub.notify(written.revision, written.events);
      state.hub.syncUnsynced();
    }
    return { revision: written.revision, body: written.result };
  }

  private get state(): AppliedState {
    return this.deps.state;
  }

  private run(txn: KvWriteTxn, req: InternalRequest): unknown {
    const { lessor } = this.state;
    if ('leaseGrant' in req) {
      const granted = lessor.grant(req.leaseGrant.ID, req.leaseGrant.TTL, txn);
      return { ID: granted.id, TTL: granted.ttl };
    }
    if ('leaseRevoke' in req) {
      lessor.revoke(req.leaseRevoke.ID, txn);
      return {};
    }
    if ('leaseCheckpoint' in req) {
      for (const c of req.leaseCheckpoint.checkpoints) lessor.checkpoint(c.ID, c.remainingTTL, txn);
      return {};
    }
    if ('memberAttributes' in req) return this.deps.applyMemberAttributes(req.memberAttributes, txn);
    const ctx: OpContext = { txn, store: this.state.kv, leases: this.leaseBinding() };
    if ('put' in req) return applyPut(ctx, req.put);
    if ('deleteRange' in req) return applyDeleteRange(ctx, req.deleteRange);
    if ('txn' in req) return applyTxn(ctx, req.txn);
    throw new Error('applier: compaction and alarms are not KV writes');
  }

  private leaseBinding(): LeaseBinding {
    const { lessor } = this.state;
    return {
      exists: (id, txn) => lessor.lookup(id, txn) !== undefined,
      attach: (id, key, txn) => lessor.attach(id, key, txn),
      detach: (id, key, txn) => lessor.detach(id, key, txn),
    };
  }
}

/** Errors that are a request's answer rather than a fault of the member. */
function isRequestError(e: unknown): boolean {
  if (e instanceof EtcdError) return true;
  // Argument checks fail the same way on every member before anything is written.
  if (e instanceof MvccError) return e.code === 'ErrCompacted' || e.code === 'ErrFutureRev' || e.code === 'ErrMvccInvalidArgument';
  return isLeaseError(e, 'ErrLeaseInvalidArgument');
}
