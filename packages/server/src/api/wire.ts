/** Turning apply-layer results into etcd's response messages. */
import type { proto } from '@kvfleet/core';
import type { KeyValue } from '../mvcc/kv-record.js';
import type { ResponseOp, TxnResult } from '../apply/requests.js';
import type { ResponseHeaderFields } from '../etcdserver/roles.js';

export function kvToWire(kv: KeyValue): proto.KeyValue {
  return kv;
}

export function txnToWire(header: ResponseHeaderFields | { revision: number }, r: TxnResult): proto.TxnResponse {
  // etcd's responses inside a txn carry a header with only the revision.
  const inner = { revision: header.revision };
  return { header, succeeded: r.succeeded, responses: r.responses.map((op) => responseOpToWire(inner, op)) };
}

function responseOpToWire(header: { revision: number }, op: ResponseOp): proto.ResponseOp {
  if ('responseRange' in op) {
    const r = op.responseRange;
    // etcd: a range inside a txn reports the revision it read at (before the txn's own writes, if it came first).
    return { responseRange: { header: { revision: r.revision ?? header.revision }, kvs: r.kvs, more: r.more, count: r.count } };
  }
  if ('responsePut' in op) {
    const p = op.responsePut;
    return { responsePut: p.prevKv === undefined ? { header } : { header, prevKv: p.prevKv } };
  }
  if ('responseDeleteRange' in op) {
    const d = op.responseDeleteRange;
    return { responseDeleteRange: { header, deleted: d.deleted, prevKvs: d.prevKvs } };
  }
  return { responseTxn: txnToWire(header, op.responseTxn) };
}
