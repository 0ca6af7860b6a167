/** etcd's Watch service on a proxy: core's watch service over the hub fed by the watch cache. */
import { MAX_REQUEST_BYTES, watchService as hubWatchService, type proto } from '@kvfleet/core';
import type { ProxyContext } from '../context.js';

/** `openStreams` collects a closer per live stream so shutdown ends them at once. */
export function watchService(ctx: ProxyContext, openStreams: Set<() => void> = new Set()): proto.ServiceHandlers<'Watch'> {
  return hubWatchService({
    hub: ctx.hub,
    header: (revision) => ctx.header(revision),
    maxRequestBytes: MAX_REQUEST_BYTES,
    openStreams,
  });
}
