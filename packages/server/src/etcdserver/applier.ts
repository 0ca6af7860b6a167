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
import type { ConsistentIndex, KvStore } from '../mvcc/kv-store.js';
import type { KvWriteTxn } from '../mvcc/kv-write-txn.js';
import { MvccError } from '../mvcc/errors.js';
import { isLeaseError } from '../lease/errors.js';
import { EntryType, type Entry, type Snapshot } from '../raft/types.js';
import type { Lessor } from '../lease/lessor.js';
import type { WatchHub } from '@kvfleet/core';
import { decodeInternalRequest } from '../apply/internal-codec.js';
import { applyDeleteRange, applyPut, applyTxn, type LeaseBinding, type OpContext } from '../apply/kv-ops.js';
import type { EmptyResult, InternalRequest, MemberAttributesRequest, TxnRequest } from '../apply/requests.js';
import type { AlarmStore } from '../maintenance/alarm-store.js';
import type { ApplyQuota } from '../maintenance/quota-alarmer.js';
import type { PendingRequests } from './pending-requests.js';
import type { StateMachine } from './raft-driver.js';
import type { MemberTestingBugs } from './member-config.js';

/** What a proposer gets back: the response body and the store revision after the apply. */
export interface ApplyOutcome<Body = unknown> {
  readonly revision: number;
  readonly body: Body;
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
  applyMemberAttributes(req: MemberAttributesRequest, txn: KvWriteTxn): EmptyResult;
  /** Deliberate bugs for the simulator's checker proofs (MemberConfig.testingBugs). */
  readonly testingBugs?: MemberTestingBugs;
}

export class Applier implements StateMachine {
  constructor(private readonly deps: ApplierDeps) {}

  applySnapshot(snapshot: Snapshot): Promise<void> {
    return this.deps.loadSnapshot(snapshot);
  }

  async applyEntries(entries: readonly Entry[]): Promise<void> {
    let i = 0;
    while (i < entries.length) {
      const entry = entries[i]!;
      if (entry.index <= this.deps.state.kv.consistentIndex.consistentIndex) {
        i++;
        continue;
      }
      const group = this.batchableRun(entries, i);
      if (group.length > 1) {
        i += await this.applyKvBatch(group);
      } else {
        // A run of one is applied alone, with the request batchableRun already decoded.
        await this.applyEntry(entry, group[0]?.request);
        i++;
      }
    }
    if (entries.length > 0) await this.deps.afterApply(entries[entries.length - 1]!.index);
  }

  /**
   * The plain KV writes (put, delete, txn) starting at `from`, up to {@link MAX_KV_BATCH}: they
   * change nothing outside the store but lease attachments, which commit hooks apply in order,
   * so they can share one backend commit. Anything else (leases, alarms, compaction, membership,
   * a txn reading at an explicit revision, which reads the published store) ends the run.
   */
  private batchableRun(entries: readonly Entry[], from: number): { entry: Entry; request: KvWriteRequest }[] {
    const run: { entry: Entry; request: KvWriteRequest }[] = [];
    if (this.deps.testingBugs?.consistentIndexApart === true) return run;
    for (let i = from; i < entries.length && run.length < MAX_KV_BATCH; i++) {
      const entry = entries[i]!;
      if (entry.type !== EntryType.Normal || entry.data.length === 0) break;
      const request = decodeInternalRequest(entry.data);
      if (request === undefined || !isBatchableKvWrite(request)) break;
      run.push({ entry, request });
    }
    return run;
  }

  /**
   * Applies a run of plain KV writes in one backend commit, settling each proposer as its write
   * is published (as applyEntry does one by one). A write that fails as a request stops the
   * batch there: it is recorded as applied and answered with its error. Returns how many
   * entries were consumed.
   */
  private async applyKvBatch(run: readonly { entry: Entry; request: KvWriteRequest }[]): Promise<number> {
    const { state } = this;
    const overQuota = run.map(({ request }) => this.deps.quota.exceeds(request));
    const outcome = await state.kv.writeBatch(
      run.map(({ entry, request }) => ({
        ci: ciOf(entry),
        fn: (txn: KvWriteTxn) => {
          this.throwIfRefused(request);
          return this.run(txn, request);
        },
      })),
      (i, written) => {
        if (written.events.length > 0) {
          state.hub.notify(written.revision, written.events);
          state.hub.syncUnsynced();
        }
        this.settle(run[i]!.request, overQuota[i]!, { revision: written.revision, body: written.result });
      },
    );
    if (outcome.failed === undefined) return outcome.written.length;
    const { entry, request } = run[outcome.written.length]!;
    await this.answerFailed(entry, request, outcome.failed.error);
    return outcome.written.length + 1;
  }

  /**
   * A request that failed as a request (unknown lease, compacted revision...) changed nothing:
   * records that its entry is applied and answers the proposer with the error. Any other
   * failure is the member's and is rethrown (fatal).
   */
  private async answerFailed(entry: Entry, request: InternalRequest, error: unknown): Promise<void> {
    if (!isRequestError(error)) throw error;
    await this.deps.state.kv.write(ciOf(entry), () => undefined);
    this.deps.pending.settle(request.id, { ok: false, error });
  }

  /** Throws the refusal of a raised alarm (NOSPACE, CORRUPT) for `req`, if there is one. */
  private throwIfRefused(req: InternalRequest): void {
    const refused = this.deps.alarms.refusal(req);
    if (refused !== undefined) throw refused;
  }

  /** Answers a proposer whose write was applied (with NOSPACE if it went over the quota). */
  private settle(request: InternalRequest, overQuota: boolean, value: ApplyOutcome): void {
    if (overQuota) {
      // etcd's quota applier: the write stands, but its proposer hears NOSPACE once the alarm is raised.
      const error = new EtcdError(ETCD_ERRORS.ErrGRPCNoSpace);
      void this.deps.quota.raise().finally(() => this.deps.pending.settle(request.id, { ok: false, error }));
    } else {
      this.deps.pending.settle(request.id, { ok: true, value });
    }
  }

  private async applyEntry(entry: Entry, decoded?: InternalRequest): Promise<void> {
    const ci = ciOf(entry);
    if (entry.type === EntryType.ConfChange) {
      await this.deps.applyConfChange(entry, ci);
      return;
    }
    const request = decoded ?? (entry.type === EntryType.Normal && entry.data.length > 0 ? decodeInternalRequest(entry.data) : undefined);
    if (request === undefined) {
      await this.deps.state.kv.write(ci, () => undefined);
      if (entry.type === EntryType.Normal && entry.data.length === 0) this.deps.onEmptyEntry(entry);
      return;
    }
    try {
      const overQuota = this.deps.quota.exceeds(request);
      const value = await this.applyRequest(ci, request);
      this.settle(request, overQuota, value);
    } catch (error) {
      await this.answerFailed(entry, request, error);
    }
  }

  private async applyRequest(ci: ConsistentIndex, req: InternalRequest): Promise<ApplyOutcome> {
    const { state } = this;
    this.throwIfRefused(req);
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
    // The consistentIndexApart bug: the data commits at the old consistent index, the index in a second commit.
    const apart = this.deps.testingBugs?.consistentIndexApart === true;
    const written = await state.kv.write(apart ? state.kv.consistentIndex : ci, (txn) => this.run(txn, req));
    if (apart) await state.kv.write(ci, () => undefined);
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
      if (this.deps.testingBugs?.skipLeaseRevoke !== true) lessor.revoke(req.leaseRevoke.ID, txn);
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

function ciOf(entry: Entry): ConsistentIndex {
  return { consistentIndex: entry.index, consistentTerm: entry.term };
}

/** Plain KV writes applied in one backend commit when they come in a run (see Applier.batchableRun). */
export const MAX_KV_BATCH = 256;

type KvWriteRequest = Extract<InternalRequest, { put: unknown } | { deleteRange: unknown } | { txn: unknown }>;

function isBatchableKvWrite(request: InternalRequest): request is KvWriteRequest {
  if ('put' in request || 'deleteRange' in request) return true;
  return 'txn' in request && !readsAtRevision(request.txn);
}

/** True if a txn (nested ones and both branches included) has a range at an explicit revision. */
function readsAtRevision(txn: TxnRequest): boolean {
  return [...txn.success, ...txn.failure].some((op) => ('requestRange' in op && op.requestRange.revision > 0) || ('requestTxn' in op && readsAtRevision(op.requestTxn)));
}

/** Errors that are a request's answer rather than a fault of the member. */
function isRequestError(e: unknown): boolean {
  if (e instanceof EtcdError) return true;
  // Argument checks fail the same way on every member before anything is written.
  if (e instanceof MvccError) return e.code === 'ErrCompacted' || e.code === 'ErrFutureRev' || e.code === 'ErrMvccInvalidArgument';
  return isLeaseError(e, 'ErrLeaseInvalidArgument');
}
