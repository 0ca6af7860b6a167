/**
 * etcd's KV service on a proxy. Range is answered from the watch cache whenever the cache can
 * give exactly what a member would:
 * - serializable: at once, once the cache has reached the session's floor;
 * - linearizable (the default): after one batched upstream check of the cluster's revision and
 *   a wait for the cache to reach it;
 * - at a revision: from the window if it holds it (after an upstream check that the revision
 *   is not compacted), else forwarded.
 * Anything the cache cannot answer in time is forwarded. Writes are forwarded, and their
 * revision raises the session's floor, so the client reads its own writes.
 */
import type * as grpc from '@grpc/grpc-js';
import { CacheMissError, checkRangeRequest, executeRange, failpoint, normalizeRange, proto, type RangeRequest } from '@kvfleet/core';
import type { KvWriteMethod, ProxyContext } from '../context.js';
import type { SessionRevisionFloor } from '../session.js';
import { unary } from './unary.js';

export function kvService(ctx: ProxyContext): proto.ServiceHandlers<'KV'> {
  const write = <M extends KvWriteMethod>(method: M) =>
    unary(async (wire: unknown, call: grpc.ServerUnaryCall<unknown, unknown>) => {
      const res = await ctx.forwardWrite(method, wire);
      const revision = revisionOf(res.header?.revision);
      if (revision > 0) ctx.sessions.get(call.getPeer()).observe(revision);
      if (method === 'Compact' && revision > 0) ctx.cache.compact(proto.int64ToNumber((wire as proto.CompactionRequest).revision, 'revision'));
      return res;
    });
  return {
    Range: unary(async (wire: proto.RangeRequest, call) => {
      const req = normalizeRange(wire);
      checkRangeRequest(req);
      const session = ctx.sessions.get(call.getPeer());
      const res = await range(ctx, req, wire, session);
      session.observe(revisionOf(res.header?.revision));
      return res as proto.RangeResponse;
    }),
    Put: write('Put') as proto.ServiceHandlers<'KV'>['Put'],
    DeleteRange: write('DeleteRange') as proto.ServiceHandlers<'KV'>['DeleteRange'],
    Txn: write('Txn') as proto.ServiceHandlers<'KV'>['Txn'],
    Compact: write('Compact') as proto.ServiceHandlers<'KV'>['Compact'],
  };
}

async function range(
  ctx: ProxyContext,
  req: RangeRequest,
  wire: proto.RangeRequest,
  session: SessionRevisionFloor,
): Promise<proto.RangeResponse | proto.Decoded<proto.RangeResponse>> {
  const forward = () => {
    ctx.metrics.rangeForwarded.inc();
    return ctx.forwardRange(wire);
  };
  if (!ctx.isReady()) return forward();
  let target = session.current();
  // Robustness failpoint: the known bug of answering a linearizable read from a stale cache.
  if (!req.serializable && !STALE_LINEARIZABLE_READS) {
    ctx.metrics.linearizableChecks.inc();
    target = Math.max(target, await ctx.clusterRevision());
  }
  if (req.revision > 0) {
    target = Math.max(target, req.revision);
    // Only the members know whether this revision was compacted since the cache last heard.
    if (req.revision < ctx.cache.revision && req.revision >= ctx.cache.oldestRevision) await checkNotCompacted(ctx, req.revision);
  }
  if (ctx.cache.revision < target) {
    const end = ctx.metrics.readWaitSeconds.startTimer();
    const reached = await ctx.waiters.wait(target, ctx.readWaitMs);
    end();
    if (!reached) return forward();
  }
  try {
    const r = executeRange(ctx.cache, req);
    ctx.metrics.rangeFromCache.inc();
    return { header: ctx.header(ctx.cache.revision), kvs: r.kvs, more: r.more, count: r.count };
  } catch (e) {
    if (e instanceof CacheMissError) return forward();
    throw e;
  }
}

/** A count-only read at `revision` on the members: fails with etcd's compacted error if it was. */
async function checkNotCompacted(ctx: ProxyContext, revision: number): Promise<void> {
  await ctx.forwardRange({ ...PROBE, revision } as unknown as proto.RangeRequest);
}

const STALE_LINEARIZABLE_READS = failpoint('proxyStaleLinearizableRead') !== undefined;

const PROBE = { key: Uint8Array.of(0), countOnly: true, limit: 1 };

function revisionOf(v: unknown): number {
  if (v === undefined || v === null) return 0;
  return proto.int64ToNumber(v as proto.Int64Like, 'revision');
}
