/** etcd's KV service: reads served locally (after a ReadIndex barrier unless serializable), writes through Raft. */
import { failpoint, failpointsOn, type proto } from '@kvfleet/core';
import { normalizeCompaction, normalizeDeleteRange, normalizePut, normalizeRange, normalizeTxn } from '../apply/normalize.js';
import { executeRange } from '@kvfleet/core';
import { evaluateReadOnlyTxn, isReadOnlyTxn } from '../apply/kv-ops.js';
import type { RequestOp, TxnRequest } from '../apply/requests.js';
import type { AppliedStateReader, EnvHost, HeaderSource, MemberSettings, MetricsHost, Proposer, RaftStatusGetter } from '../etcdserver/roles.js';
import { type QuotaHost, checkQuota } from '../maintenance/quota-alarmer.js';
import { checkDeleteRequest, checkPutRequest, checkRangeRequest, checkTxnRequest } from '../apply/check-requests.js';
import { unary } from './grpc-errors.js';
import { txnToWire } from './wire.js';

/** What the KV service uses of the member. */
export type KvMember = EnvHost & HeaderSource & RaftStatusGetter & Proposer & QuotaHost & Pick<AppliedStateReader, 'kv'> & MemberSettings & MetricsHost;

export function kvService(server: KvMember): proto.ServiceHandlers<'KV'> {
  return {
    Range: unary(async (wire) => {
      const req = normalizeRange(wire);
      checkRangeRequest(req);
      if (!req.serializable) await server.linearizableBarrier();
      const kv = server.kv;
      const r = executeRange(kv, req);
      server.metrics.readsServed += 1;
      return { header: server.header(kv.currentRevision), kvs: r.kvs, more: r.more, count: r.count };
    }),

    Put: unary(async (wire) => {
      const req = normalizePut(wire);
      // etcd checks the quota before anything else (its quota layer wraps the KV server).
      await checkQuota(server, { put: req });
      checkPutRequest(req);
      if (failpointsOn && server.isLeader && failpoint('putAckThenCrash') === 'crash') return ackThenCrash(server);
      const out = await server.propose({ put: req });
      const body = out.body;
      return body.prevKv === undefined ? { header: server.header(out.revision) } : { header: server.header(out.revision), prevKv: body.prevKv };
    }),

    DeleteRange: unary(async (wire) => {
      const req = normalizeDeleteRange(wire);
      checkDeleteRequest(req);
      const out = await server.propose({ deleteRange: req });
      const body = out.body;
      return { header: server.header(out.revision), deleted: body.deleted, prevKvs: body.prevKvs };
    }),

    Txn: unary(async (wire) => {
      const req = normalizeTxn(wire);
      await checkQuota(server, { txn: req });
      checkTxnRequest(req, server.config.maxTxnOps);
      if (isReadOnlyTxn(req)) {
        if (!isSerializableTxn(req)) await server.linearizableBarrier();
        const kv = server.kv;
        server.metrics.readsServed += 1;
        return txnToWire(server.header(kv.currentRevision), evaluateReadOnlyTxn(kv, req));
      }
      const out = await server.propose({ txn: req });
      return txnToWire(server.header(out.revision), out.body);
    }),

    Compact: unary(async (wire) => {
      const out = await server.propose({ compaction: normalizeCompaction(wire) });
      return { header: server.header(out.revision) };
    }),
  };
}

/** etcd serves a read-only txn without a barrier only if every range in it is serializable. */
function isSerializableTxn(req: TxnRequest): boolean {
  const ok = (op: RequestOp): boolean =>
    'requestRange' in op ? op.requestRange.serializable : 'requestTxn' in op ? isSerializableTxn(op.requestTxn) : false;
  return req.success.every(ok) && req.failure.every(ok);
}

/**
 * Robustness failpoint `putAckThenCrash` (a known bug the checkers must catch): the leader
 * acknowledges a put at the revision it would get, then dies before the write is anywhere
 * durable, as a member that acknowledged before its fsync would lose it in a power cut.
 */
function ackThenCrash(server: KvMember): proto.PutResponse {
  // Late enough for the answer to reach the client, which is what makes it a lost acknowledged write.
  server.env.clock.setTimeout(() => server.env.process.crash(), 300);
  return { header: server.header(server.kv.currentRevision + 1) };
}
