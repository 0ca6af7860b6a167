/**
 * The sequential specification the checker linearizes against: etcd v3's KV store, leases and
 * compaction, with one global revision. States are immutable; every request makes a new state
 * that shares structure with the old one.
 *
 * Choices where a history cannot tell us everything:
 * - An unknown leaseGrant is ignored: its id is unknown, so nothing could be applied.
 * - A lease id the model has never seen (and has not seen revoked) is taken to come from such
 *   a grant: a put naming it creates it on the fly, and a revoke of it succeeds with nothing to
 *   delete. A revoked id is never valid again (etcd's ids are random 63-bit numbers).
 * - Lease expiry is not modeled: a lease lives until it is revoked.
 * - Compaction only records max(compactRevision, revision); reads are linearizable, so they
 *   always read the newest revision and compaction cannot change what they see.
 */
import type { Compare, KeyValueSeen, KvRequest, KvResponse, TxnOpResult } from '../history.js';
import { SEED_A, SEED_B, avalanche, combine, combineNumber, hashString } from './fingerprint.js';
import { type OrderedMap, compareKeys, entries, insert, lookup, remove, visitRange } from './ordered-map.js';

export interface KeyRecord {
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  /** '0' when the key has no lease. */
  readonly lease: string;
}

export interface ModelState {
  readonly revision: number;
  readonly compactRevision: number;
  readonly keys: OrderedMap<KeyRecord>;
  /** Live leases, each with the set of keys attached to it. */
  readonly leases: OrderedMap<OrderedMap<true>>;
  readonly revokedLeases: OrderedMap<true>;
  /**
   * XOR of the hashes of every key record, live lease and revoked lease (two independent
   * halves), kept current on every change so fingerprinting a state is O(1).
   */
  readonly contentHashA: number;
  readonly contentHashB: number;
}

const NO_LEASE = '0';

/** An empty store: etcd starts at revision 1. */
export function initialState(): ModelState {
  return { revision: 1, compactRevision: 0, keys: undefined, leases: undefined, revokedLeases: undefined, contentHashA: 0, contentHashB: 0 };
}

/** A state holding the given keys, e.g. what a cluster held before the recorded traffic began. */
export function stateFrom(snapshot: {
  readonly revision: number;
  readonly compactRevision?: number;
  readonly kvs?: readonly KeyValueSeen[];
  /** Live leases (leases named by `kvs` are added anyway). */
  readonly leases?: readonly string[];
}): ModelState {
  const draft = new Draft(initialState());
  for (const id of snapshot.leases ?? []) draft.ensureLease(id);
  for (const kv of snapshot.kvs ?? []) {
    const lease = normalizeLease(kv.lease);
    if (lease !== NO_LEASE) draft.ensureLease(lease);
    draft.writeKey(kv.key, { value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease });
  }
  return draft.build(snapshot.revision, snapshot.compactRevision ?? 0);
}

/** Two independent 32-bit halves of a hash of everything in the state. */
export function fingerprintA(state: ModelState): number {
  return avalanche(combineNumber(combineNumber(state.contentHashA ^ SEED_A, state.revision), state.compactRevision));
}

export function fingerprintB(state: ModelState): number {
  return avalanche(combineNumber(combineNumber(state.contentHashB ^ SEED_B, state.revision), state.compactRevision));
}

function recordHash(key: string, record: KeyRecord, seed: number): number {
  let h = combine(hashString(key, seed), hashString(record.value, seed ^ 0x3c6ef372));
  h = combineNumber(h, record.createRevision);
  h = combineNumber(h, record.modRevision);
  h = combineNumber(h, record.version);
  return avalanche(combine(h, hashString(record.lease, seed ^ 0x7f4a7c15)));
}

const liveLeaseHash = (id: string, seed: number): number => hashString(`live:${id}`, seed);
const revokedLeaseHash = (id: string, seed: number): number => hashString(`revoked:${id}`, seed);

/** A request's or answer's lease, '0' for none. */
export function normalizeLease(lease: string | undefined): string {
  return lease === undefined || lease === '' ? NO_LEASE : lease;
}

/** Collects one request's changes on top of a state; `build` freezes them into a new state. */
class Draft {
  keys: OrderedMap<KeyRecord>;
  leases: OrderedMap<OrderedMap<true>>;
  revokedLeases: OrderedMap<true>;
  hashA: number;
  hashB: number;
  changed = false;

  constructor(private readonly base: ModelState) {
    this.keys = base.keys;
    this.leases = base.leases;
    this.revokedLeases = base.revokedLeases;
    this.hashA = base.contentHashA;
    this.hashB = base.contentHashB;
  }

  record(key: string): KeyRecord | undefined {
    return lookup(this.keys, key);
  }

  writeKey(key: string, record: KeyRecord): void {
    const previous = lookup(this.keys, key);
    if (previous !== undefined) this.forget(key, previous);
    this.keys = insert(this.keys, key, record);
    this.hashA ^= recordHash(key, record, SEED_A);
    this.hashB ^= recordHash(key, record, SEED_B);
    if (record.lease !== NO_LEASE) {
      const attached = lookup(this.leases, record.lease);
      this.leases = insert(this.leases, record.lease, insert(attached, key, true as const));
    }
    this.changed = true;
  }

  /** Returns whether the key existed. */
  deleteKey(key: string): boolean {
    const previous = lookup(this.keys, key);
    if (previous === undefined) return false;
    this.forget(key, previous);
    this.keys = remove(this.keys, key);
    this.changed = true;
    return true;
  }

  /** Removes a record's hash and its lease attachment (the caller replaces or removes the record). */
  private forget(key: string, record: KeyRecord): void {
    this.hashA ^= recordHash(key, record, SEED_A);
    this.hashB ^= recordHash(key, record, SEED_B);
    if (record.lease === NO_LEASE) return;
    const attached = lookup(this.leases, record.lease);
    // A revoke removes the lease before deleting its keys; then there is nothing to detach.
    if (attached !== undefined) this.leases = insert(this.leases, record.lease, remove(attached, key));
  }

  /** Whether a put may attach the lease: live, or unseen and so created on the fly. */
  ensureLease(id: string): boolean {
    if (lookup(this.leases, id) !== undefined) return true;
    if (lookup(this.revokedLeases, id) !== undefined) return false;
    this.addLease(id);
    return true;
  }

  addLease(id: string): void {
    // Liveness is membership in `leases`: a lease with no keys maps to the empty set (undefined).
    this.leases = insert(this.leases, id, undefined as OrderedMap<true>);
    this.hashA ^= liveLeaseHash(id, SEED_A);
    this.hashB ^= liveLeaseHash(id, SEED_B);
    this.changed = true;
  }

  isLive(id: string): boolean {
    return hasKey(this.leases, id);
  }

  /** Revokes a lease, deleting its keys; returns how many keys it deleted. */
  revoke(id: string): number {
    let deleted = 0;
    if (hasKey(this.leases, id)) {
      const attached = entries(lookup(this.leases, id));
      this.leases = remove(this.leases, id);
      this.hashA ^= liveLeaseHash(id, SEED_A);
      this.hashB ^= liveLeaseHash(id, SEED_B);
      for (const [key] of attached) if (this.deleteKey(key)) deleted++;
    }
    this.revokedLeases = insert(this.revokedLeases, id, true as const);
    this.hashA ^= revokedLeaseHash(id, SEED_A);
    this.hashB ^= revokedLeaseHash(id, SEED_B);
    this.changed = true;
    return deleted;
  }

  build(revision: number, compactRevision: number): ModelState {
    const base = this.base;
    if (!this.changed && revision === base.revision && compactRevision === base.compactRevision) return base;
    return {
      revision,
      compactRevision,
      keys: this.keys,
      leases: this.leases,
      revokedLeases: this.revokedLeases,
      contentHashA: this.hashA,
      contentHashB: this.hashB,
    };
  }
}

/** `lookup` cannot tell an absent key from one mapped to undefined (a lease with no keys). */
function hasKey<V>(map: OrderedMap<V>, key: string): boolean {
  let node = map;
  while (node !== undefined) {
    const order = compareKeys(key, node.key);
    if (order === 0) return true;
    node = order < 0 ? node.left : node.right;
  }
  return false;
}

/** Whether a state has a live lease with this id. */
export function hasLease(state: ModelState, id: string): boolean {
  return hasKey(state.leases, id);
}

function seen(key: string, record: KeyRecord): KeyValueSeen {
  return { key, value: record.value, modRevision: record.modRevision, createRevision: record.createRevision, version: record.version, lease: record.lease };
}

/** Whether a key-value someone saw is exactly this record. */
export function kvMatches(kv: KeyValueSeen, key: string, record: KeyRecord): boolean {
  return (
    kv.key === key &&
    kv.value === record.value &&
    kv.modRevision === record.modRevision &&
    kv.createRevision === record.createRevision &&
    kv.version === record.version &&
    normalizeLease(kv.lease) === record.lease
  );
}

function kvsEqual(a: readonly KeyValueSeen[], b: readonly KeyValueSeen[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as KeyValueSeen;
    const y = b[i] as KeyValueSeen;
    if (x.key !== y.key || x.value !== y.value || x.modRevision !== y.modRevision || x.createRevision !== y.createRevision || x.version !== y.version) return false;
    if (normalizeLease(x.lease) !== normalizeLease(y.lease)) return false;
  }
  return true;
}

/** An empty or absent range end means the one key; etcd's "\0" means every key >= key. */
function isSingleKey(end: string | undefined): end is undefined | '' {
  return end === undefined || end === '';
}

function upperBound(end: string): string | undefined {
  return end === '\0' ? undefined : end;
}

/** Whether a Range (or range delete) of [key, end) includes `candidate`. */
export function rangeIncludes(key: string, end: string | undefined, candidate: string): boolean {
  if (isSingleKey(end)) return candidate === key;
  if (compareKeys(candidate, key) < 0) return false;
  const to = upperBound(end);
  return to === undefined || compareKeys(candidate, to) < 0;
}

function readRange(keys: OrderedMap<KeyRecord>, key: string, end: string | undefined): KeyValueSeen[] {
  if (isSingleKey(end)) {
    const record = lookup(keys, key);
    return record === undefined ? [] : [seen(key, record)];
  }
  const kvs: KeyValueSeen[] = [];
  visitRange(keys, key, upperBound(end), (k, record) => {
    kvs.push(seen(k, record));
    return true;
  });
  return kvs;
}

/** Compares a read against the state without building the expected answer, to reject fast. */
function rangeMatches(keys: OrderedMap<KeyRecord>, key: string, end: string | undefined, kvs: readonly KeyValueSeen[]): boolean {
  if (isSingleKey(end)) {
    const record = lookup(keys, key);
    if (record === undefined) return kvs.length === 0;
    return kvs.length === 1 && kvMatches(kvs[0] as KeyValueSeen, key, record);
  }
  let matched = 0;
  const complete = visitRange(keys, key, upperBound(end), (k, record) => {
    const kv = kvs[matched];
    if (kv === undefined || !kvMatches(kv, k, record)) return false;
    matched++;
    return true;
  });
  return complete && matched === kvs.length;
}

function holds(order: number, op: Compare['op']): boolean {
  switch (op) {
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
    case '>':
      return order > 0;
    case '<':
      return order < 0;
  }
}

/** etcd's rule: a value compare on a missing key is false; numeric targets read a missing key as 0. */
export function compareHolds(record: KeyRecord | undefined, compare: Compare): boolean {
  if (compare.target === 'value') {
    if (record === undefined) return false;
    return holds(compareKeys(record.value, String(compare.against)), compare.op);
  }
  const actual = record === undefined ? 0 : compare.target === 'mod' ? record.modRevision : compare.target === 'create' ? record.createRevision : record.version;
  return holds(Math.sign(actual - Number(compare.against)), compare.op);
}

function putInto(draft: Draft, key: string, value: string, requestedLease: string | undefined, revision: number): boolean {
  const lease = normalizeLease(requestedLease);
  if (lease !== NO_LEASE && !draft.ensureLease(lease)) return false;
  const previous = draft.record(key);
  draft.writeKey(
    key,
    previous === undefined
      ? { value, createRevision: revision, modRevision: revision, version: 1, lease }
      : { value, createRevision: previous.createRevision, modRevision: revision, version: previous.version + 1, lease },
  );
  return true;
}

export interface Applied {
  readonly state: ModelState;
  readonly response: KvResponse;
}

/**
 * Runs a request against a state as etcd would and returns the new state and etcd's answer,
 * or undefined when etcd would answer with an error and change nothing (a put or revoke naming
 * a revoked lease, a compact beyond the current revision, granting an id already used).
 * The state returned is `state` itself when the request changed nothing.
 * A leaseGrant needs `grantedLeaseId`: the id is etcd's choice, known only from the answer.
 */
export function applyRequest(state: ModelState, request: KvRequest, grantedLeaseId?: string): Applied | undefined {
  const current = state.revision;
  switch (request.type) {
    case 'range':
    case 'staleRange':
      return { state, response: { type: 'range', revision: current, kvs: readRange(state.keys, request.key, request.end) } };
    case 'put': {
      const draft = new Draft(state);
      if (!putInto(draft, request.key, request.value, request.lease, current + 1)) return undefined;
      return { state: draft.build(current + 1, state.compactRevision), response: { type: 'put', revision: current + 1 } };
    }
    case 'delete': {
      const draft = new Draft(state);
      const doomed = isSingleKey(request.end) ? [request.key] : readRange(state.keys, request.key, request.end).map((kv) => kv.key);
      let deleted = 0;
      for (const key of doomed) if (draft.deleteKey(key)) deleted++;
      const revision = deleted > 0 ? current + 1 : current;
      return { state: draft.build(revision, state.compactRevision), response: { type: 'delete', revision, deleted } };
    }
    case 'txn': {
      const succeeded = request.compares.every((compare) => compareHolds(lookup(state.keys, compare.key), compare));
      const draft = new Draft(state);
      // One revision for the whole txn, taken only if something in it writes.
      const txnRevision = current + 1;
      let writes = false;
      const results: TxnOpResult[] = [];
      for (const op of succeeded ? request.success : request.failure) {
        if (op.type === 'put') {
          if (!putInto(draft, op.key, op.value, op.lease, txnRevision)) return undefined;
          writes = true;
          results.push({ type: 'put' });
        } else if (op.type === 'delete') {
          const deleted = draft.deleteKey(op.key) ? 1 : 0;
          if (deleted > 0) writes = true;
          results.push({ type: 'delete', deleted });
        } else {
          const record = draft.record(op.key);
          results.push({ type: 'get', kvs: record === undefined ? [] : [seen(op.key, record)] });
        }
      }
      const revision = writes ? txnRevision : current;
      return { state: draft.build(revision, state.compactRevision), response: { type: 'txn', revision, succeeded, results } };
    }
    case 'leaseGrant': {
      if (grantedLeaseId === undefined) throw new Error('applying a leaseGrant needs the id etcd granted');
      const draft = new Draft(state);
      // Revoked ids stay dead, so that an unknown revoke which deleted nothing can only
      // forbid later operations, never allow one (the checker relies on that to skip it).
      if (draft.isLive(grantedLeaseId) || lookup(state.revokedLeases, grantedLeaseId) !== undefined) return undefined;
      draft.addLease(grantedLeaseId);
      return { state: draft.build(current, state.compactRevision), response: { type: 'leaseGrant', revision: current, id: grantedLeaseId } };
    }
    case 'leaseRevoke': {
      if (lookup(state.revokedLeases, request.id) !== undefined) return undefined;
      const draft = new Draft(state);
      const revision = draft.revoke(request.id) > 0 ? current + 1 : current;
      return { state: draft.build(revision, state.compactRevision), response: { type: 'leaseRevoke', revision } };
    }
    case 'compact': {
      if (request.revision > current) return undefined;
      const compactRevision = Math.max(state.compactRevision, request.revision);
      return { state: new Draft(state).build(current, compactRevision), response: { type: 'compact', revision: current } };
    }
  }
}

function txnResponseWrites(results: readonly TxnOpResult[]): boolean {
  return results.some((result) => result.type === 'put' || (result.type === 'delete' && result.deleted > 0));
}

function txnResultsEqual(a: readonly TxnOpResult[], b: readonly TxnOpResult[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as TxnOpResult;
    const y = b[i] as TxnOpResult;
    if (x.type !== y.type) return false;
    if (x.type === 'delete' && y.type === 'delete' && x.deleted !== y.deleted) return false;
    if (x.type === 'get' && y.type === 'get' && !kvsEqual(x.kvs, y.kvs)) return false;
  }
  return true;
}

export function responsesEqual(a: KvResponse, b: KvResponse): boolean {
  if (a.type !== b.type || a.revision !== b.revision) return false;
  switch (a.type) {
    case 'range':
      return b.type === 'range' && kvsEqual(a.kvs, b.kvs);
    case 'delete':
      return b.type === 'delete' && a.deleted === b.deleted;
    case 'txn':
      return b.type === 'txn' && a.succeeded === b.succeeded && txnResultsEqual(a.results, b.results);
    case 'leaseGrant':
      return b.type === 'leaseGrant' && a.id === b.id;
    case 'put':
    case 'leaseRevoke':
    case 'compact':
      return true;
  }
}

/**
 * The newest state revision an operation with this answer could have been applied to: the
 * answer's revision, less one when the answer shows it wrote. Revisions never go back, so once
 * the model is past it the operation can no longer be linearized.
 */
export function latestRevisionBefore(response: KvResponse): number {
  switch (response.type) {
    case 'put':
      return response.revision - 1;
    case 'delete':
      return response.deleted > 0 ? response.revision - 1 : response.revision;
    case 'txn':
      return txnResponseWrites(response.results) ? response.revision - 1 : response.revision;
    default:
      // A revoke's answer does not say whether it deleted keys.
      return response.revision;
  }
}

/**
 * The model's transition: the state after `request` if etcd could have answered `response`
 * from `state`, else undefined. With no response (an unknown outcome) it returns the state
 * after applying the request, or `state` when the request would have failed or is a
 * leaseGrant (whose id cannot be known). staleRange is not linearizable and changes nothing.
 */
export function step(state: ModelState, request: KvRequest, response: KvResponse | undefined): ModelState | undefined {
  if (request.type === 'staleRange') return state;
  if (response === undefined) {
    if (request.type === 'leaseGrant') return state;
    return applyRequest(state, request)?.state ?? state;
  }
  // Cheap checks first: the search asks about many orders that are wrong by revision alone.
  const current = state.revision;
  switch (request.type) {
    case 'range':
      if (response.type !== 'range' || response.revision !== current) return undefined;
      return rangeMatches(state.keys, request.key, request.end, response.kvs) ? state : undefined;
    case 'put':
      if (response.type !== 'put' || response.revision !== current + 1) return undefined;
      break;
    case 'delete':
      if (response.type !== 'delete' || response.revision !== (response.deleted > 0 ? current + 1 : current)) return undefined;
      break;
    case 'txn': {
      if (response.type !== 'txn' || response.revision !== (txnResponseWrites(response.results) ? current + 1 : current)) return undefined;
      const succeeded = request.compares.every((compare) => compareHolds(lookup(state.keys, compare.key), compare));
      if (succeeded !== response.succeeded) return undefined;
      break;
    }
    case 'leaseRevoke':
      if (response.type !== 'leaseRevoke' || (response.revision !== current && response.revision !== current + 1)) return undefined;
      break;
    case 'leaseGrant':
    case 'compact':
      if (response.type !== request.type || response.revision !== current) return undefined;
      break;
  }
  const applied = applyRequest(state, request, response.type === 'leaseGrant' ? response.id : undefined);
  if (applied === undefined || !responsesEqual(applied.response, response)) return undefined;
  return applied.state;
}

/**
 * The keys `request` changed going from `before` to `after`, each with its new record
 * (undefined when deleted). Unchanged records are the same objects in both states.
 */
export function changedKeys(before: ModelState, after: ModelState, request: KvRequest): Map<string, KeyRecord | undefined> {
  const candidates: string[] = [];
  switch (request.type) {
    case 'put':
      candidates.push(request.key);
      break;
    case 'delete':
      for (const kv of readRange(before.keys, request.key, request.end)) candidates.push(kv.key);
      break;
    case 'txn':
      for (const op of [...request.success, ...request.failure]) if (op.type !== 'get') candidates.push(op.key);
      break;
    case 'leaseRevoke':
      for (const [key] of entries(lookup(before.leases, request.id))) candidates.push(key);
      break;
    default:
      break;
  }
  const changed = new Map<string, KeyRecord | undefined>();
  for (const key of candidates) {
    const record = lookup(after.keys, key);
    if (record !== lookup(before.keys, key)) changed.set(key, record);
  }
  return changed;
}

/** Every key and value in a state, for reports and tests. */
export function describeState(state: ModelState): string {
  const kvs = entries(state.keys).map(([key, record]) => `${JSON.stringify(key)}=${JSON.stringify(record.value)}@${record.modRevision}`);
  return `revision ${state.revision}: ${kvs.length === 0 ? '(empty)' : kvs.join(' ')}`;
}
