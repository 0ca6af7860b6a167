import { MemoryBackend } from '../../src/backend/memory-backend.js';
import type { KvWriteTxn } from '../../src/mvcc/kv-write-txn.js';
import { KvStore } from '../../src/mvcc/kv-store.js';
import type { KeyValue } from '../../src/mvcc/kv-record.js';
import type { LeaseBinding, OpContext } from '../../src/apply/kv-ops.js';
import type {
  Compare,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from '../../src/apply/requests.js';

/** A key or value from text (latin1, one byte per char). */
export function k(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

/** Bytes as text. */
export function str(b: Uint8Array): string {
  return Buffer.from(b).toString('latin1');
}

export const EMPTY = new Uint8Array(0);
/** etcd's "\0" range end: every key >= key. */
export const FROM_KEY = new Uint8Array([0]);

export async function openStore(): Promise<KvStore> {
  return KvStore.open(MemoryBackend.open());
}

/** The consistent index to give the next write. */
export function nextCi(store: KvStore): { consistentIndex: number; consistentTerm: number } {
  return { consistentIndex: store.consistentIndex.consistentIndex + 1, consistentTerm: 1 };
}

/** One put per write (one revision each); returns the new revision. */
export async function put(store: KvStore, key: string, value: string, lease = 0): Promise<number> {
  const w = await store.write(nextCi(store), (t) => t.put(k(key), k(value), { lease }));
  return w.revision;
}

export async function del(store: KvStore, key: string, end?: string): Promise<number> {
  const w = await store.write(nextCi(store), (t) => t.deleteRange(k(key), end === undefined ? undefined : k(end)));
  return w.revision;
}

export function rangeReq(key: string | Uint8Array, over: Partial<RangeRequest> = {}): RangeRequest {
  return {
    key: typeof key === 'string' ? k(key) : key,
    rangeEnd: EMPTY,
    limit: 0,
    revision: 0,
    sortOrder: 0,
    sortTarget: 0,
    serializable: false,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...over,
  };
}

export function putReq(key: string, value: string, over: Partial<PutRequest> = {}): PutRequest {
  return { key: k(key), value: k(value), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false, ...over };
}

export function delReq(key: string, end?: string | Uint8Array, prevKv = false): DeleteRangeRequest {
  return { key: k(key), rangeEnd: end === undefined ? EMPTY : typeof end === 'string' ? k(end) : end, prevKv };
}

export function cmp(key: string, target: number, result: number, operand: Partial<Compare> = {}, end?: string | Uint8Array): Compare {
  return {
    result,
    target,
    key: k(key),
    rangeEnd: end === undefined ? EMPTY : typeof end === 'string' ? k(end) : end,
    version: 0,
    createRevision: 0,
    modRevision: 0,
    value: EMPTY,
    lease: 0,
    ...operand,
  };
}

export function txnReq(compare: Compare[], success: RequestOp[] = [], failure: RequestOp[] = []): TxnRequest {
  return { compare, success, failure };
}

export const opPut = (key: string, value: string, over: Partial<PutRequest> = {}): RequestOp => ({ requestPut: putReq(key, value, over) });
export const opDel = (key: string, end?: string | Uint8Array, prevKv = false): RequestOp => ({
  requestDeleteRange: delReq(key, end, prevKv),
});
export const opRange = (key: string | Uint8Array, over: Partial<RangeRequest> = {}): RequestOp => ({ requestRange: rangeReq(key, over) });
export const opTxn = (t: TxnRequest): RequestOp => ({ requestTxn: t });

/** Keys of kvs as strings. */
export function keys(kvs: readonly KeyValue[]): string[] {
  return kvs.map((kv) => str(kv.key));
}

/** "key=value" strings. */
export function pairs(kvs: readonly KeyValue[]): string[] {
  return kvs.map((kv) => `${str(kv.key)}=${str(kv.value)}`);
}

/**
 * A lessor stand-in: a set of existing lease ids, the keys attached to each, and every call
 * in order. Changes apply immediately (the real lessor stages them in the txn).
 */
export class FakeLeases implements LeaseBinding {
  readonly calls: string[] = [];
  readonly attached = new Map<number, Set<string>>();
  constructor(readonly ids: Set<number> = new Set()) {}

  exists(id: number, _txn: KvWriteTxn): boolean {
    this.calls.push(`exists ${String(id)}`);
    return this.ids.has(id);
  }

  attach(id: number, key: Uint8Array, _txn: KvWriteTxn): void {
    this.calls.push(`attach ${String(id)} ${str(key)}`);
    const set = this.attached.get(id) ?? new Set<string>();
    set.add(str(key));
    this.attached.set(id, set);
  }

  detach(id: number, key: Uint8Array, _txn: KvWriteTxn): void {
    this.calls.push(`detach ${String(id)} ${str(key)}`);
    this.attached.get(id)?.delete(str(key));
  }

  keysOf(id: number): string[] {
    return [...(this.attached.get(id) ?? [])].sort();
  }
}

/** Runs `fn` with an OpContext inside one store write. */
export async function inWrite<T>(store: KvStore, leases: LeaseBinding, fn: (ctx: OpContext) => T): Promise<{ revision: number; result: T }> {
  const w = await store.write(nextCi(store), (txn) => fn({ txn, store, leases }));
  return { revision: w.revision, result: w.result };
}
