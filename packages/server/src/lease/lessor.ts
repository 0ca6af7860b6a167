/**
 * The lessor of a Raft member: what etcd's lessor (server/lease/lessor.go) is to etcd.
 *
 * Two kinds of state:
 *
 * - **Replicated**: the leases (id, granted TTL, last checkpointed remaining TTL) and the keys
 *   attached to each. They change only by applying Raft entries (grant, revoke, attach, detach,
 *   checkpoint), so they are the same on every member. Mutations take the {@link KvWriteTxn} of
 *   the `KvStore.write` applying the entry: the lease records go into bucket `lease` through
 *   `txn.putAux`/`deleteAux`, in the same backend batch as the KV changes and the consistent
 *   index, and the in-memory change is staged and made by a `txn.onCommit` hook. So memory
 *   changes exactly when the batch commits; a throwing callback or a failed batch leaves the
 *   lessor as it was. Within one write, later calls see earlier ones (grant then attach, ...).
 *
 * - **Primary** (leader only): each lease's expiry on the injected monotonic clock, the queue
 *   of expiries and the queue of checkpoints. A follower's leases never expire (expiry is
 *   Infinity); `promote` gives each lease its remaining TTL plus an extension, `demote` takes
 *   expiries away again. Renewals are not replicated (as in etcd they go to the leader only).
 *
 * The lessor does no I/O and reads no clock of its own: the server polls `expired` and
 * `checkpointsDue` and proposes LeaseRevoke / LeaseCheckpoint entries for what they return.
 */
import { ETCD_ERRORS, EtcdError, compareBytes, hexOf, keySuccessor } from '@kvfleet/core';
import type { ReadView } from '../backend/backend.js';
import type { KvWriteTxn } from '../mvcc/kv-write-txn.js';
import { DeadlineQueue } from './deadline-queue.js';
import { LeaseError } from './errors.js';
import { LEASE_BUCKET, type LeaseRecord, decodeLeaseKey, decodeLeaseRecord, encodeLeaseKey, encodeLeaseRecord } from './lease-record.js';
import {
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_EXPIRED_RETRY_MS,
  DEFAULT_REVOKE_RATE,
  MAX_LEASE_ID,
  MAX_LEASE_TTL,
} from './limits.js';

export interface LessorOptions {
  /** Monotonic clock in milliseconds. Read only by primary behaviour and when applying to memory. */
  readonly now: () => number;
  /** Shortest TTL granted, in seconds (>= 1); see `minLeaseTtlSeconds`. Shorter asks are raised to it. */
  readonly minTtlSeconds: number;
  /** Whether the leader checkpoints remaining TTLs (etcd's lease checkpointing). Default true. */
  readonly checkpointing?: boolean;
  /** Checkpoint interval; only leases with a longer remaining TTL are checkpointed. Default 5 min. */
  readonly checkpointIntervalMs?: number;
  /** How long until `expired` reports a lease again whose revoke has not applied. Default 3 s. */
  readonly expiredRetryMs?: number;
  /** Revoke rate per second that `promote` spreads expiries for (etcd's leaseRevokeRate). Default 1000. */
  readonly revokeRate?: number;
}

/** A lease as the replicated state holds it. */
export type Lease = LeaseRecord;

export interface GrantedLease {
  readonly id: number;
  /** TTL in seconds actually granted (raised to the minimum). */
  readonly ttl: number;
}

export interface RenewResult {
  /** The lease's granted TTL in seconds, as etcd's keepalive answers. */
  readonly ttl: number;
  /**
   * The lease has a checkpointed remaining TTL: propose a checkpoint of it to 0 (unset) now, so
   * a later leader gives it its full TTL, as etcd's Renew does (and waits for) before answering.
   */
  readonly clearRemaining: boolean;
}

export interface LeaseCheckpoint {
  readonly id: number;
  readonly remainingTtl: number;
}

export interface TimeToLive {
  readonly id: number;
  /** Remaining seconds, truncated as etcd does; -1 if there is no such lease. */
  readonly ttl: number;
  /** Granted TTL in seconds; 0 if there is no such lease. */
  readonly grantedTtl: number;
  /** Attached keys in byte order, if asked for; else empty. */
  readonly keys: Uint8Array[];
}

/** A live key and its lease (0 for none), as `recover` takes them from the KV store. */
export interface LeasedKey {
  readonly key: Uint8Array;
  readonly lease: number;
}

interface LeaseState {
  readonly id: number;
  ttl: number;
  remainingTtl: number;
  /** Expiry on the clock in ms; Infinity unless primary. */
  expiry: number;
  /** Attached keys by hex. */
  readonly keys: Map<string, Uint8Array>;
}

/** A replicated change staged in a write txn, made in memory once the write commits. */
type Op =
  | { readonly kind: 'grant'; readonly id: number; readonly record: LeaseRecord }
  | { readonly kind: 'revoke'; readonly id: number }
  | { readonly kind: 'attach'; readonly id: number; readonly hex: string; readonly key: Uint8Array }
  | { readonly kind: 'detach'; readonly id: number; readonly hex: string }
  | { readonly kind: 'checkpoint'; readonly id: number; readonly remainingTtl: number };

/** Lease records read per backend range call during recovery. */
const RECOVER_PAGE = 1000;

export class Lessor {
  private readonly byId = new Map<number, LeaseState>();
  /** Which lease each attached key (hex) belongs to. */
  private readonly owners = new Map<string, number>();
  private readonly staged = new WeakMap<KvWriteTxn, Op[]>();
  private readonly expiries = new DeadlineQueue();
  private readonly checkpoints = new DeadlineQueue();
  private primary = false;
  private readonly now: () => number;
  private readonly minTtl: number;
  private readonly checkpointing: boolean;
  private readonly checkpointIntervalMs: number;
  private readonly expiredRetryMs: number;
  private readonly revokeRate: number;

  constructor(options: LessorOptions) {
    if (typeof options.now !== 'function') throw new LeaseError('ErrLeaseInvalidArgument', 'now must be a function');
    this.now = options.now;
    this.minTtl = checkInt(options.minTtlSeconds, 'minTtlSeconds', 1, MAX_LEASE_TTL);
    this.checkpointing = options.checkpointing ?? true;
    this.checkpointIntervalMs = checkInt(options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS, 'checkpointIntervalMs', 1);
    this.expiredRetryMs = checkInt(options.expiredRetryMs ?? DEFAULT_EXPIRED_RETRY_MS, 'expiredRetryMs', 1);
    this.revokeRate = checkInt(options.revokeRate ?? DEFAULT_REVOKE_RATE, 'revokeRate', 1);
  }

  /**
   * Rebuilds a (non-primary) lessor: leases from bucket `lease` of `view`, attachments from the
   * KV store's live keys (etcd does the same on restore: attachments are not stored). A key
   * naming an unknown lease is skipped, as etcd logs and skips it. Stored TTLs below the
   * minimum are raised to it, as etcd does.
   */
  static recover(view: ReadView, liveKeys: Iterable<LeasedKey>, options: LessorOptions): Lessor {
    const lessor = new Lessor(options);
    let gte: Uint8Array | undefined;
    for (;;) {
      const page = view.range(LEASE_BUCKET, { gte, limit: RECOVER_PAGE });
      for (const { key, value } of page) {
        const r = decodeLeaseRecord(value);
        const id = decodeLeaseKey(key);
        if (id !== r.id) throw new LeaseError('ErrLeaseCorrupt', `lease record ${String(r.id)} stored under id ${String(id)}`);
        lessor.byId.set(id, { id, ttl: Math.max(r.ttl, lessor.minTtl), remainingTtl: r.remainingTtl, expiry: Infinity, keys: new Map() });
      }
      if (page.length < RECOVER_PAGE) break;
      gte = keySuccessor(page[page.length - 1]!.key);
    }
    for (const { key, lease } of liveKeys) {
      if (lease === 0) continue;
      const state = lessor.byId.get(lease);
      if (state === undefined) continue;
      const hex = hexOf(key);
      state.keys.set(hex, key.slice());
      lessor.owners.set(hex, lease);
    }
    return lessor;
  }

  // ---- Replicated state: called while applying entries, inside KvStore.write. ----

  /**
   * Grants lease `id` for `ttlSeconds` (raised to the minimum). Throws etcd's
   * ErrGRPCLeaseNotFound for id 0 (as etcd's lessor does), ErrGRPCLeaseTTLTooLarge above
   * {@link MAX_LEASE_TTL}, ErrGRPCLeaseExist if the lease exists.
   */
  grant(id: number, ttlSeconds: number, txn: KvWriteTxn): GrantedLease {
    if (id === 0) throw etcdError('ErrGRPCLeaseNotFound');
    checkInt(id, 'lease id', 1, MAX_LEASE_ID);
    if (!Number.isSafeInteger(ttlSeconds)) throw new LeaseError('ErrLeaseInvalidArgument', `ttl ${String(ttlSeconds)} is not an integer`);
    if (ttlSeconds > MAX_LEASE_TTL) throw etcdError('ErrGRPCLeaseTTLTooLarge');
    if (this.recordIn(id, txn) !== undefined) throw etcdError('ErrGRPCLeaseExist');
    const record: LeaseRecord = { id, ttl: Math.max(ttlSeconds, this.minTtl), remainingTtl: 0 };
    txn.putAux(LEASE_BUCKET, encodeLeaseKey(id), encodeLeaseRecord(record));
    this.stage(txn, { kind: 'grant', id, record });
    return { id, ttl: record.ttl };
  }

  /**
   * Revokes lease `id`: deletes its attached keys through `txn` (in byte order, so every member
   * writes the same sub-revisions), deletes its record, and returns the keys. Throws
   * ErrGRPCLeaseNotFound if there is no such lease. Do not also `detach` these keys.
   */
  revoke(id: number, txn: KvWriteTxn): Uint8Array[] {
    if (this.recordIn(id, txn) === undefined) throw etcdError('ErrGRPCLeaseNotFound');
    const keys = [...this.keysIn(id, txn).values()].sort(compareBytes);
    for (const key of keys) txn.deleteRange(key);
    txn.deleteAux(LEASE_BUCKET, encodeLeaseKey(id));
    this.stage(txn, { kind: 'revoke', id });
    return keys.map((k) => k.slice());
  }

  /**
   * Attaches `key` to lease `id` (a put set the key's lease to `id`); a key attached to another
   * lease moves. Throws ErrGRPCLeaseNotFound if there is no such lease.
   */
  attach(id: number, key: Uint8Array, txn: KvWriteTxn): void {
    checkKey(key);
    if (this.recordIn(id, txn) === undefined) throw etcdError('ErrGRPCLeaseNotFound');
    this.stage(txn, { kind: 'attach', id, hex: hexOf(key), key: key.slice() });
  }

  /**
   * Detaches `key` from lease `id` (a put changed or removed the key's lease, or the key was
   * deleted). A no-op if the key is not attached to `id` or the lease does not exist: etcd's
   * Detach returns ErrLeaseNotFound there, which its callers only log.
   */
  detach(id: number, key: Uint8Array, txn: KvWriteTxn): void {
    checkKey(key);
    this.stage(txn, { kind: 'detach', id, hex: hexOf(key) });
  }

  /**
   * Applies a LeaseCheckpoint: records (and persists) the lease's remaining TTL, which
   * `promote` will use instead of the full TTL; 0 unsets it. Ignored for an unknown lease, as
   * in etcd (it may have been revoked since the checkpoint was proposed).
   */
  checkpoint(id: number, remainingTtlSeconds: number, txn: KvWriteTxn): void {
    checkInt(remainingTtlSeconds, 'remaining ttl', 0, MAX_LEASE_TTL);
    const record = this.recordIn(id, txn);
    if (record === undefined) return;
    txn.putAux(LEASE_BUCKET, encodeLeaseKey(id), encodeLeaseRecord({ ...record, remainingTtl: remainingTtlSeconds }));
    this.stage(txn, { kind: 'checkpoint', id, remainingTtl: remainingTtlSeconds });
  }

  /** The lease `id`, as committed, or as `txn` has changed it so far; undefined if none. */
  lookup(id: number, txn?: KvWriteTxn): Lease | undefined {
    return this.recordIn(id, txn);
  }

  /** The ids of all committed leases, ascending. */
  leases(): number[] {
    return [...this.byId.keys()].sort((a, b) => a - b);
  }

  // ---- Primary behaviour: leader only, driven by the clock. ----

  get isPrimary(): boolean {
    return this.primary;
  }

  /**
   * This member became leader (etcd: once it has applied its term's first, empty entry):
   * every lease expires at now + remaining TTL + `extendMs`. etcd passes its election timeout,
   * so no lease expires early for the time the election took. With at least `revokeRate`
   * leases, expiries bunched in the same second are pushed later, as etcd does, so no more
   * than 3/4 of the revoke rate fall due per second.
   */
  promote(extendMs: number): void {
    checkInt(extendMs, 'extendMs', 0);
    this.primary = true;
    const now = this.now();
    this.expiries.clear();
    this.checkpoints.clear();
    for (const s of this.byId.values()) {
      s.expiry = now + effectiveRemaining(s) * 1000 + extendMs;
      this.scheduleCheckpoint(s, now);
    }
    if (this.byId.size >= this.revokeRate) this.spreadExpiries();
    for (const s of this.byId.values()) this.expiries.set(s.id, s.expiry);
  }

  /** This member is no longer leader: leases stop expiring here, queues are dropped. */
  demote(): void {
    this.primary = false;
    for (const s of this.byId.values()) s.expiry = Infinity;
    this.expiries.clear();
    this.checkpoints.clear();
  }

  /**
   * A keepalive: the lease expires at now + its granted TTL. Throws LeaseError
   * ErrLeaseNotPrimary off the leader (forward it), ErrGRPCLeaseNotFound if there is no such
   * lease, and LeaseError ErrLeaseExpired if it has expired and awaits its revoke (etcd waits
   * for the revoke, then answers not found, or not primary if demoted meanwhile).
   */
  renew(id: number): RenewResult {
    this.requirePrimary();
    const s = this.byId.get(id);
    if (s === undefined) throw etcdError('ErrGRPCLeaseNotFound');
    const now = this.now();
    if (now >= s.expiry) throw new LeaseError('ErrLeaseExpired', `lease ${String(id)}`);
    s.expiry = now + s.ttl * 1000;
    this.expiries.set(id, s.expiry);
    return { ttl: s.ttl, clearRemaining: this.checkpointing && s.remainingTtl > 0 };
  }

  /**
   * Up to `limit` leases past their expiry, earliest first, for the server to propose
   * LeaseRevoke. A lease returned is not returned again for `expiredRetryMs` (etcd re-checks
   * after its retry interval), unless it is renewed or revoked meanwhile. Empty off the leader.
   */
  expired(limit: number): number[] {
    checkInt(limit, 'limit', 1);
    if (!this.primary) return [];
    const now = this.now();
    const out: number[] = [];
    while (out.length < limit) {
      const top = this.expiries.peek();
      if (top === undefined || top.time > now) break;
      const s = this.byId.get(top.id);
      if (s === undefined) {
        this.expiries.delete(top.id);
        continue;
      }
      if (now < s.expiry) {
        this.expiries.set(s.id, s.expiry);
        continue;
      }
      this.expiries.set(s.id, now + this.expiredRetryMs);
      out.push(s.id);
    }
    return out;
  }

  /**
   * Up to `limit` checkpoints due now, for the server to propose as LeaseCheckpoint entries.
   * Only leases whose remaining TTL exceeds the checkpoint interval are scheduled (when granted,
   * checkpointed or promoted on the leader); a due one is skipped if expired, and deferred by
   * an interval if its remaining TTL is still its full TTL (just renewed). Empty off the leader.
   */
  checkpointsDue(limit: number): LeaseCheckpoint[] {
    checkInt(limit, 'limit', 1);
    if (!this.primary || !this.checkpointing) return [];
    const now = this.now();
    const out: LeaseCheckpoint[] = [];
    while (out.length < limit) {
      const top = this.checkpoints.peek();
      if (top === undefined || top.time > now) break;
      this.checkpoints.delete(top.id);
      const s = this.byId.get(top.id);
      if (s === undefined || now >= s.expiry) continue;
      const remainingTtl = Math.ceil((s.expiry - now) / 1000);
      if (remainingTtl >= s.ttl) {
        // etcd drops the schedule here; keeping it means a lease renewed just before its
        // checkpoint is still checkpointed once the client stops renewing.
        this.checkpoints.set(s.id, now + this.checkpointIntervalMs);
        continue;
      }
      out.push({ id: s.id, remainingTtl });
    }
    return out;
  }

  /**
   * LeaseTimeToLive as the leader answers it. Throws LeaseError ErrLeaseNotPrimary off the
   * leader (etcd forwards the request). For an unknown lease, ttl -1 and grantedTtl 0, as
   * etcd's gRPC layer answers.
   */
  timeToLive(id: number, options: { readonly keys?: boolean } = {}): TimeToLive {
    this.requirePrimary();
    const s = this.byId.get(id);
    if (s === undefined) return { id, ttl: -1, grantedTtl: 0, keys: [] };
    const ttl = Math.trunc((s.expiry - this.now()) / 1000);
    const keys = options.keys === true ? [...s.keys.values()].sort(compareBytes).map((k) => k.slice()) : [];
    // `|| 0` turns -0 (just past expiry) into 0.
    return { id, ttl: ttl || 0, grantedTtl: s.ttl, keys };
  }

  // ---- Internals. ----

  private requirePrimary(): void {
    if (!this.primary) throw new LeaseError('ErrLeaseNotPrimary');
  }

  /** Appends `op` to `txn`'s staged changes; the first one registers the commit hook. */
  private stage(txn: KvWriteTxn, op: Op): void {
    let ops = this.staged.get(txn);
    if (ops === undefined) {
      const list: Op[] = [];
      ops = list;
      this.staged.set(txn, list);
      txn.onCommit(() => {
        this.staged.delete(txn);
        this.applyOps(list);
      });
    }
    ops.push(op);
  }

  /** The lease record as committed, then changed by `txn`'s staged ops in order. */
  private recordIn(id: number, txn: KvWriteTxn | undefined): LeaseRecord | undefined {
    const s = this.byId.get(id);
    let r: LeaseRecord | undefined = s === undefined ? undefined : { id, ttl: s.ttl, remainingTtl: s.remainingTtl };
    for (const op of (txn === undefined ? undefined : this.staged.get(txn)) ?? []) {
      if (op.id !== id) continue;
      if (op.kind === 'grant') r = op.record;
      else if (op.kind === 'revoke') r = undefined;
      else if (op.kind === 'checkpoint' && r !== undefined) r = { ...r, remainingTtl: op.remainingTtl };
    }
    return r;
  }

  /** The keys attached to `id` as committed, then changed by `txn`'s staged ops in order. */
  private keysIn(id: number, txn: KvWriteTxn): Map<string, Uint8Array> {
    const committed = this.byId.get(id)?.keys ?? new Map<string, Uint8Array>();
    const ops = this.staged.get(txn);
    if (ops === undefined) return committed;
    const keys = new Map(committed);
    for (const op of ops) {
      if (op.kind === 'revoke' && op.id === id) keys.clear();
      else if (op.kind === 'attach') {
        if (op.id === id) keys.set(op.hex, op.key);
        else keys.delete(op.hex);
      } else if (op.kind === 'detach' && op.id === id) keys.delete(op.hex);
    }
    return keys;
  }

  /** Makes a committed write's staged changes in memory. */
  private applyOps(ops: readonly Op[]): void {
    const now = this.now();
    for (const op of ops) {
      switch (op.kind) {
        case 'grant': {
          const { id, ttl } = op.record;
          const s: LeaseState = { id, ttl, remainingTtl: 0, expiry: Infinity, keys: new Map() };
          this.byId.set(id, s);
          if (this.primary) {
            s.expiry = now + ttl * 1000;
            this.expiries.set(id, s.expiry);
            this.scheduleCheckpoint(s, now);
          }
          break;
        }
        case 'revoke': {
          const s = this.byId.get(op.id);
          if (s === undefined) break;
          for (const hex of s.keys.keys()) {
            if (this.owners.get(hex) === op.id) this.owners.delete(hex);
          }
          this.byId.delete(op.id);
          this.expiries.delete(op.id);
          this.checkpoints.delete(op.id);
          break;
        }
        case 'attach': {
          const s = this.byId.get(op.id);
          if (s === undefined) break;
          const previous = this.owners.get(op.hex);
          if (previous !== undefined && previous !== op.id) this.byId.get(previous)?.keys.delete(op.hex);
          s.keys.set(op.hex, op.key);
          this.owners.set(op.hex, op.id);
          break;
        }
        case 'detach': {
          if (this.owners.get(op.hex) !== op.id) break;
          this.owners.delete(op.hex);
          this.byId.get(op.id)?.keys.delete(op.hex);
          break;
        }
        case 'checkpoint': {
          const s = this.byId.get(op.id);
          if (s === undefined) break;
          s.remainingTtl = op.remainingTtl;
          if (this.primary) this.scheduleCheckpoint(s, now);
          break;
        }
      }
    }
  }

  /** Queues a checkpoint one interval from now if the lease outlives the interval (as etcd). */
  private scheduleCheckpoint(s: LeaseState, now: number): void {
    if (!this.checkpointing) return;
    if (effectiveRemaining(s) > Math.floor(this.checkpointIntervalMs / 1000)) {
      this.checkpoints.set(s.id, now + this.checkpointIntervalMs);
    }
  }

  /**
   * Pushes expiries later so that each one-second slot holds at most 3/4 of the revoke rate:
   * a leader taking over many leases with similar remaining TTLs would otherwise find them
   * all expired at once. Expiries only ever move later.
   */
  private spreadExpiries(): void {
    const perSlot = Math.max(1, Math.floor((3 * this.revokeRate) / 4));
    const sorted = [...this.byId.values()].sort((a, b) => a.expiry - b.expiry || a.id - b.id);
    let slotStart = -Infinity;
    let count = 0;
    for (const s of sorted) {
      if (s.expiry >= slotStart + 1000) {
        slotStart = s.expiry;
        count = 0;
      }
      if (count >= perSlot) {
        slotStart += 1000;
        count = 0;
      }
      if (s.expiry < slotStart) s.expiry = slotStart;
      count++;
    }
  }
}

/** The remaining TTL to expire a lease by: the checkpointed one if set, else the full TTL. */
function effectiveRemaining(s: LeaseState): number {
  return s.remainingTtl > 0 ? s.remainingTtl : s.ttl;
}

function etcdError(name: 'ErrGRPCLeaseNotFound' | 'ErrGRPCLeaseExist' | 'ErrGRPCLeaseTTLTooLarge'): EtcdError {
  return new EtcdError(ETCD_ERRORS[name]);
}

function checkInt(n: number, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new LeaseError('ErrLeaseInvalidArgument', `${what} ${String(n)} is not an integer in [${String(min)}, ${String(max)}]`);
  }
  return n;
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length === 0) throw new LeaseError('ErrLeaseInvalidArgument', 'key must be a non-empty Uint8Array');
}

