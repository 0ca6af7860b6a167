/** One-line descriptions of operations for violation reports. */
import type { KeyValueSeen, KvRequest, KvResponse, Operation, TxnOp, TxnOpResult } from '../history.js';

const quote = (text: string): string => JSON.stringify(text.length > 40 ? `${text.slice(0, 37)}...` : text);

function keyRange(key: string, end: string | undefined): string {
  return end === undefined || end === '' ? quote(key) : `[${quote(key)}, ${end === '\0' ? '∞' : quote(end)})`;
}

function txnOp(op: TxnOp): string {
  if (op.type === 'put') return `put ${quote(op.key)}=${quote(op.value)}${op.lease ? ` lease ${op.lease}` : ''}`;
  return `${op.type} ${quote(op.key)}`;
}

export function describeRequest(request: KvRequest): string {
  switch (request.type) {
    case 'range':
    case 'staleRange':
      return `${request.type} ${keyRange(request.key, request.end)}`;
    case 'put':
      return txnOp(request);
    case 'delete':
      return `delete ${keyRange(request.key, request.end)}`;
    case 'txn': {
      const compares = request.compares.map((c) => `${c.target}(${quote(c.key)}) ${c.op} ${typeof c.against === 'string' ? quote(c.against) : c.against}`);
      return `txn if ${compares.join(' && ') || 'true'} then [${request.success.map(txnOp).join('; ')}] else [${request.failure.map(txnOp).join('; ')}]`;
    }
    case 'leaseGrant':
      return `leaseGrant ttl ${request.ttl}`;
    case 'leaseRevoke':
      return `leaseRevoke ${request.id}`;
    case 'compact':
      return `compact ${request.revision}`;
  }
}

function kvs(list: readonly KeyValueSeen[]): string {
  const shown = list.slice(0, 5).map((kv) => `${quote(kv.key)}=${quote(kv.value)} (mod ${kv.modRevision}, create ${kv.createRevision}, ver ${kv.version}${kv.lease !== '0' ? `, lease ${kv.lease}` : ''})`);
  if (list.length > shown.length) shown.push(`… ${list.length - shown.length} more`);
  return `[${shown.join(', ')}]`;
}

function txnResult(result: TxnOpResult): string {
  if (result.type === 'put') return 'put';
  if (result.type === 'delete') return `deleted ${result.deleted}`;
  return `got ${kvs(result.kvs)}`;
}

export function describeResponse(response: KvResponse): string {
  const at = `rev ${response.revision}`;
  switch (response.type) {
    case 'range':
      return `${at} ${kvs(response.kvs)}`;
    case 'delete':
      return `${at} deleted ${response.deleted}`;
    case 'txn':
      return `${at} ${response.succeeded ? 'succeeded' : 'failed'} [${response.results.map(txnResult).join('; ')}]`;
    case 'leaseGrant':
      return `${at} id ${response.id}`;
    case 'put':
    case 'leaseRevoke':
    case 'compact':
      return at;
  }
}

export function describeOperation(op: Operation): string {
  const outcome = op.outcome.status === 'ok' ? describeResponse(op.outcome.response) : `${op.outcome.status} (${op.outcome.error})`;
  const returned = Number.isFinite(op.returnMs) ? op.returnMs.toFixed(3) : '∞';
  return `#${op.id} client ${op.client} [${op.callMs.toFixed(3)}, ${returned}] ${describeRequest(op.request)} -> ${outcome}`;
}
