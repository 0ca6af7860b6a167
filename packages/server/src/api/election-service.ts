/**
 * etcd's v3election service, run on the member itself (see concurrency/): Campaign waits to
 * become leader, Proclaim and Resign act on a LeaderKey's term, Leader reads the current
 * leader and Observe streams leader changes. Waits end when the client goes away or the server
 * shuts down.
 */
import type * as grpc from '@grpc/grpc-js';
import { EtcdError, proto } from '@kvfleet/core';
import { openCallScope, scopedUnary } from './call-scope.js';
import { campaign, currentLeader, proclaimAs, resign, type LeaderKey } from '../concurrency/election.js';
import { CONCURRENCY_ERRORS } from '../concurrency/errors.js';
import { LeaderObserver } from '../concurrency/leader-observer.js';
import { MemberKv } from '../concurrency/member-kv.js';
import type { ConcurrencyMember } from '../concurrency/member-kv.js';
import type { HeaderSource } from '../etcdserver/roles.js';

/** What the Election service uses of the member. */
export type ElectionMember = HeaderSource & ConcurrencyMember;

const EMPTY = new Uint8Array(0);

/** `openCalls`: the client server's closers run on shutdown. */
export function electionService(server: ElectionMember, openCalls: Set<() => void>): proto.ServiceHandlers<'Election'> {
  const kv = new MemberKv(server);
  return {
    Campaign: scopedUnary(openCalls, async (req: proto.CampaignRequest, signal) => {
      const lease = proto.int64ToNumber(req.lease, 'lease');
      const out = await campaign(kv, req.name ?? EMPTY, lease, req.value ?? EMPTY, signal);
      const { name, key, rev, lease: id } = out.leader;
      return { header: server.header(out.revision), leader: { name, key, rev, lease: id } };
    }),

    Proclaim: scopedUnary(openCalls, async (req: proto.ProclaimRequest) => {
      const out = await proclaimAs(kv, leaderKeyOf(req.leader), req.value ?? EMPTY);
      return { header: server.header(out.revision) };
    }),

    Leader: scopedUnary(openCalls, async (req: proto.LeaderRequest) => {
      const out = await currentLeader(kv, req.name ?? EMPTY);
      return { header: server.header(out.revision), kv: out.kv };
    }),

    Observe: (call) => serveObserve(server, kv, call, openCalls),

    Resign: scopedUnary(openCalls, async (req: proto.ResignRequest) => {
      const out = await resign(kv, leaderKeyOf(req.leader));
      return { header: server.header(out.revision) };
    }),
  };
}

function leaderKeyOf(wire: proto.Decoded<proto.LeaderKey> | null | undefined): LeaderKey {
  if (wire === null || wire === undefined) throw new EtcdError(CONCURRENCY_ERRORS.ErrMissingLeaderKey);
  return {
    name: wire.name ?? EMPTY,
    key: wire.key ?? EMPTY,
    rev: proto.int64ToNumber(wire.rev, 'rev'),
    lease: proto.int64ToNumber(wire.lease, 'lease'),
  };
}

type ObserveCall = grpc.ServerWritableStream<proto.LeaderRequest, proto.LeaderResponse>;

function serveObserve(server: ElectionMember, kv: MemberKv, call: ObserveCall, openCalls: Set<() => void>): void {
  const scope = openCallScope(call, openCalls);
  const observer = new LeaderObserver(kv, call.request.name ?? EMPTY, (u) => call.write({ header: server.header(u.revision), kv: u.kv }));
  let ended = false;
  const end = (error?: Partial<grpc.StatusObject>): void => {
    if (ended) return;
    ended = true;
    scope.end();
    observer.close();
    if (call.cancelled) return;
    // grpc-js sends a server stream's status from 'error' (then ends it); destroy would not.
    if (error !== undefined) call.emit('error', Object.assign(new Error(error.details), error));
    else call.end();
  };
  scope.signal.addEventListener('abort', () => end(scope.statusOf(scope.signal.reason)));
  call.on('drain', () => observer.resume());
  call.on('error', () => end());
  // etcd's Observe returns nil when its observation ends on a failed read: the stream just ends.
  observer.run().then(
    () => end(),
    () => end(),
  );
}
