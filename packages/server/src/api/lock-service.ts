/**
 * etcd's v3lock service, run on the member itself (see concurrency/): Lock waits for its turn
 * (watching the member's hub) and answers with the ownership key; Unlock deletes that key.
 * A waiting Lock ends when its client goes away or the server shuts down.
 */
import { proto } from '@kvfleet/core';
import { scopedUnary } from './call-scope.js';
import { MemberKv } from '../concurrency/member-kv.js';
import { lock, unlock } from '../concurrency/mutex.js';
import type { ConcurrencyMember } from '../concurrency/member-kv.js';
import type { HeaderSource } from '../etcdserver/roles.js';

/** What the Lock service uses of the member. */
export type LockMember = HeaderSource & ConcurrencyMember;

/** `openCalls`: the client server's closers run on shutdown. */
export function lockService(server: LockMember, openCalls: Set<() => void>): proto.ServiceHandlers<'Lock'> {
  const kv = new MemberKv(server);
  return {
    Lock: scopedUnary(openCalls, async (req: proto.LockRequest, signal) => {
      const lease = proto.int64ToNumber(req.lease, 'lease');
      const out = await lock(kv, req.name ?? new Uint8Array(0), lease, signal);
      return { header: server.header(out.revision), key: out.key };
    }),

    Unlock: scopedUnary(openCalls, async (req: proto.UnlockRequest) => {
      const out = await unlock(kv, req.key ?? new Uint8Array(0));
      return { header: server.header(out.revision) };
    }),
  };
}
