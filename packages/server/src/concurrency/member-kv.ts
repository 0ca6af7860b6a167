/**
 * {@link ConcurrencyKv} on the member itself: writes are proposed through Raft, reads are
 * served from the applied store after a ReadIndex barrier, and watches are watchers of the
 * member's watch hub. The same request checks as etcd's KV service apply, since etcd sends these
 * requests through its own client.
 */
import { checkDeleteRequest, checkRangeRequest, checkTxnRequest } from '../apply/check-requests.js';
import { executeRange } from '@kvfleet/core';
import type { RangeRequest, TxnRequest, TxnResult } from '../apply/requests.js';
import type { AppliedStateReader, EnvHost, MemberSettings, Proposer } from '../etcdserver/roles.js';
import { newLeaseId } from '../lease/lease-id.js';
import type { KeyValue } from '../mvcc/kv-record.js';
import type { WatchStream } from '@kvfleet/core';
import type { ConcurrencyKv, KeyWatch, KeyWatchRequest, KeyWatchSink } from './concurrency-kv.js';

/** What the lock and election recipes use of the member: its KV, leases and watches. */
export type ConcurrencyMember = EnvHost & Proposer & AppliedStateReader & MemberSettings;

const EMPTY = new Uint8Array(0);

export class MemberKv implements ConcurrencyKv {
  constructor(private readonly server: ConcurrencyMember) {}

  async txn(req: TxnRequest): Promise<{ revision: number; result: TxnResult }> {
    checkTxnRequest(req, this.server.config.maxTxnOps);
    const out = await this.server.propose({ txn: req });
    return { revision: out.revision, result: out.body };
  }

  async deleteKey(key: Uint8Array): Promise<{ revision: number }> {
    const req = { key, rangeEnd: EMPTY, prevKv: false };
    checkDeleteRequest(req);
    const out = await this.server.propose({ deleteRange: req });
    return { revision: out.revision };
  }

  async range(req: RangeRequest): Promise<{ revision: number; kvs: KeyValue[] }> {
    checkRangeRequest(req);
    await this.server.linearizableBarrier();
    const kv = this.server.kv;
    return { revision: kv.currentRevision, kvs: executeRange(kv, req).kvs };
  }

  async grantLease(ttlSeconds: number): Promise<number> {
    // Chosen before proposing, as the Lease service does, so every member applies the same id.
    const id = newLeaseId(this.server.env.random, (x) => this.server.lessor.lookup(x) !== undefined);
    const out = await this.server.propose({ leaseGrant: { ID: id, TTL: ttlSeconds } });
    return out.body.ID;
  }

  watch(request: KeyWatchRequest, sink: KeyWatchSink): KeyWatch {
    const server = this.server;
    let closed = false;
    let stream: WatchStream | undefined;
    let unsubscribe: (() => void) | undefined;
    const close = (): void => {
      if (closed) return;
      closed = true;
      unsubscribe?.();
      const s = stream;
      stream = undefined;
      // Closing a stream from inside the hub's delivery loop could re-register its watcher;
      // the loop is synchronous, so closing right after it is safe.
      if (s !== undefined) queueMicrotask(() => s.close());
    };
    const lose = (): void => {
      if (closed) return;
      close();
      sink.lost();
    };
    stream = server.hub.openStream((r) => {
      if (closed) return true;
      // A watcher is canceled only when the history it needs was compacted.
      if (r.canceled === true) {
        lose();
        return true;
      }
      // Created and progress responses carry no events.
      if (r.events.length === 0) return true;
      return sink.events(r.revision, r.events);
    });
    // The store (and hub) were replaced by a leader's snapshot: this watcher will hear nothing more.
    unsubscribe = server.onStateReplaced(lose);
    stream.create({ key: request.key, rangeEnd: request.rangeEnd, startRevision: request.startRevision });
    server.hub.syncUnsynced();
    return {
      resume: () => {
        if (closed || stream === undefined) return;
        stream.resume();
        server.hub.syncUnsynced();
      },
      close,
    };
  }
}
