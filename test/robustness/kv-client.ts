/**
 * Runs one recorded KvRequest over the etcd v3 gRPC API and classifies the answer: ok (with the
 * response the checkers need), failed (etcd said it did not happen), or unknown (it may have).
 * Only errors that etcd raises before or instead of applying a request count as failed; anything
 * else, timeouts and lost connections first, is unknown.
 */
import * as grpc from '@grpc/grpc-js';
import { proto } from '@kvfleet/core';
import type { Compare, KeyValueSeen, KvRequest, KvResponse, Outcome, TxnOp, TxnOpResult } from './history.js';

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
export const text = (b: Uint8Array | null | undefined): string => (b ? Buffer.from(b).toString('utf8') : '');
export const num = (v: proto.Int64Like | null | undefined): number => proto.int64ToNumber(v ?? 0, 'int64');
export const idOf = (v: proto.Int64Like | null | undefined): string => proto.int64ToBigInt(v ?? 0).toString();

export interface KvClients {
  readonly kv: proto.ServiceClient<'KV'>;
  readonly lease: proto.ServiceClient<'Lease'>;
}

/** etcd errors after which the request is known not to have taken effect. */
const NOT_APPLIED = [
  'etcdserver: mvcc: required revision has been compacted',
  'etcdserver: mvcc: required revision is a future revision',
  'etcdserver: requested lease not found',
  'etcdserver: too many requests',
  'etcdserver: no leader',
  'etcdserver: not capable',
];

export function classifyError(e: unknown): Outcome {
  const err = e as Partial<grpc.ServiceError>;
  const details = err.details ?? (e as Error).message ?? String(e);
  if (err.code === grpc.status.INVALID_ARGUMENT || NOT_APPLIED.includes(details)) return { status: 'failed', error: details };
  // grpc-js had no connection to send it on: it never left this process.
  if (err.code === grpc.status.UNAVAILABLE && details.startsWith('No connection established')) return { status: 'failed', error: details };
  return { status: 'unknown', error: `${String(err.code ?? '?')} ${details}` };
}

/** A decoded KeyValue as the history records it. */
export function seen(kv: proto.Decoded<proto.KeyValue>): KeyValueSeen {
  return {
    key: text(kv.key),
    value: text(kv.value),
    modRevision: num(kv.modRevision),
    createRevision: num(kv.createRevision),
    version: num(kv.version),
    lease: idOf(kv.lease),
  };
}

/** A recorded range end as etcd's range_end ('\\0': every key from the start). */
export const rangeEnd = (end: string | undefined): Uint8Array | undefined => (end === undefined ? undefined : end === '\0' ? Uint8Array.of(0) : utf8(end));

const COMPARE_RESULT = { '=': proto.CompareResult.EQUAL, '!=': proto.CompareResult.NOT_EQUAL, '>': proto.CompareResult.GREATER, '<': proto.CompareResult.LESS } as const;
const COMPARE_TARGET = { value: proto.CompareTarget.VALUE, mod: proto.CompareTarget.MOD, create: proto.CompareTarget.CREATE, version: proto.CompareTarget.VERSION } as const;
const COMPARE_FIELD = { value: 'value', mod: 'modRevision', create: 'createRevision', version: 'version' } as const;

function wireCompare(c: Compare): Record<string, unknown> {
  const against = c.target === 'value' ? utf8(String(c.against)) : Number(c.against);
  return { key: utf8(c.key), result: COMPARE_RESULT[c.op], target: COMPARE_TARGET[c.target], [COMPARE_FIELD[c.target]]: against };
}

function wireOp(op: TxnOp): Record<string, unknown> {
  switch (op.type) {
    case 'put':
      return { requestPut: { key: utf8(op.key), value: utf8(op.value), lease: op.lease ?? 0 } };
    case 'delete':
      return { requestDeleteRange: { key: utf8(op.key) } };
    case 'get':
      return { requestRange: { key: utf8(op.key) } };
  }
}

function opResult(r: proto.Decoded<proto.ResponseOp>): TxnOpResult {
  if (r.responsePut) return { type: 'put' };
  if (r.responseDeleteRange) return { type: 'delete', deleted: num(r.responseDeleteRange.deleted) };
  return { type: 'get', kvs: (r.responseRange?.kvs ?? []).map(seen) };
}

/** Sends `request` with a deadline of `timeoutMs` on the wall clock `now`; never throws. */
export async function runRequest(c: KvClients, request: KvRequest, timeoutMs: number, now: () => number = Date.now): Promise<Outcome> {
  const options = { deadline: now() + timeoutMs };
  const call = <Req, Res>(fn: proto.UnaryClientMethod<Req, Res>, client: object, req: Req): Promise<proto.Decoded<Res>> =>
    proto.unaryCall(fn.bind(client), req as never, undefined, options) as Promise<proto.Decoded<Res>>;
  try {
    const response = await send();
    return { status: 'ok', response };
  } catch (e) {
    return classifyError(e);
  }

  async function send(): Promise<KvResponse> {
    switch (request.type) {
      case 'range':
      case 'staleRange': {
        const r = await call(c.kv.Range, c.kv, { key: utf8(request.key), rangeEnd: rangeEnd(request.end), serializable: request.type === 'staleRange' } as proto.Init<proto.RangeRequest>);
        return { type: 'range', revision: num(r.header?.revision), kvs: r.kvs.map(seen) };
      }
      case 'put': {
        const r = await call(c.kv.Put, c.kv, { key: utf8(request.key), value: utf8(request.value), lease: request.lease ?? 0 } as proto.Init<proto.PutRequest>);
        return { type: 'put', revision: num(r.header?.revision) };
      }
      case 'delete': {
        const r = await call(c.kv.DeleteRange, c.kv, { key: utf8(request.key), rangeEnd: rangeEnd(request.end) } as proto.Init<proto.DeleteRangeRequest>);
        return { type: 'delete', revision: num(r.header?.revision), deleted: num(r.deleted) };
      }
      case 'txn': {
        const r = await call(c.kv.Txn, c.kv, {
          compare: request.compares.map(wireCompare),
          success: request.success.map(wireOp),
          failure: request.failure.map(wireOp),
        } as unknown as proto.Init<proto.TxnRequest>);
        return { type: 'txn', revision: num(r.header?.revision), succeeded: r.succeeded === true, results: (r.responses ?? []).map(opResult) };
      }
      case 'leaseGrant': {
        const r = await call(c.lease.LeaseGrant, c.lease, { TTL: request.ttl } as proto.Init<proto.LeaseGrantRequest>);
        return { type: 'leaseGrant', revision: num(r.header?.revision), id: idOf(r.ID) };
      }
      case 'leaseRevoke': {
        const r = await call(c.lease.LeaseRevoke, c.lease, { ID: request.id } as unknown as proto.Init<proto.LeaseRevokeRequest>);
        return { type: 'leaseRevoke', revision: num(r.header?.revision) };
      }
      case 'compact': {
        const r = await call(c.kv.Compact, c.kv, { revision: request.revision } as proto.Init<proto.CompactionRequest>);
        return { type: 'compact', revision: num(r.header?.revision) };
      }
    }
  }
}
