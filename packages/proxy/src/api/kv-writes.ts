/**
 * KV writes (Put, DeleteRange, Txn, Compact) forwarded to the members: decoded and re-encoded
 * normally, the member's response returned as is so the caller can read its revision (the KV
 * service waits for the cache to reach it before the session's next read).
 *
 * Not retried on another endpoint once a member may have received it (see Upstream's retry
 * rule): a write must not be applied twice.
 */
import type { KvWriteMethod, ProxyContext } from '../context.js';

export type WriteResponse = { header?: { revision?: unknown } | null } & Record<string, unknown>;

export function forwardWrite(ctx: Pick<ProxyContext, 'upstream'>, method: KvWriteMethod, request: unknown): Promise<WriteResponse> {
  return ctx.upstream.unary<WriteResponse>('KV', method, request, { idempotent: false, toLeader: true });
}
