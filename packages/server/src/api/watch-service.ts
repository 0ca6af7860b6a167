/** etcd's Watch service on a member: core's watch service over the member's hub. */
import { status } from '@grpc/grpc-js';
import { watchService as hubWatchService, type proto } from '@kvfleet/core';
import type { AppliedStateReader, HeaderSource, MemberSettings } from '../etcdserver/roles.js';

/** What the Watch service uses of the member. */
export type WatchMember = HeaderSource & AppliedStateReader & MemberSettings;

export function watchService(server: WatchMember, openStreams: Set<() => void>): proto.ServiceHandlers<'Watch'> {
  return hubWatchService({
    // A getter: a snapshot install gives the member a new hub, and new streams must use it.
    get hub() {
      return server.hub;
    },
    header: (revision) => server.header(revision),
    maxRequestBytes: server.config.maxRequestBytes,
    openStreams,
    onStateReplaced: (end) =>
      server.onStateReplaced(() => {
        // The store was replaced by a snapshot from the leader; clients resume from their last revision.
        end({ code: status.UNAVAILABLE, details: 'etcdserver: member restored from a snapshot, retry the watch' });
      }),
  });
}
