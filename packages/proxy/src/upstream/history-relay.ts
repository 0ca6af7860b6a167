/**
 * Watchers that need revisions older than the cache's window get them from the members: one
 * upstream watch per such watcher, from its next revision, on its range with its filters and
 * prev_kv. Its events go to the client as they come; at the first event the window also holds,
 * the upstream watch is dropped and the watcher goes back to the hub, which continues from the
 * window, so the client sees every revision once, in order. A watcher whose range or filters
 * match no event would never see one, so the relay also asks the members for progress: a
 * progress response at R says every event up to R was sent, and the watcher goes back at R + 1.
 * A watcher the members compacted is canceled with their compact revision, as etcd would.
 *
 * Bounded: at most `maxRelays` at once (more are canceled as compacted), and a relay whose
 * client stream is full hands the watcher back to wait like any slow watcher.
 */
import type * as grpc from '@grpc/grpc-js';
import { proto, type KvEvent, type WatchCache, type Watcher, type WatchHub } from '@kvfleet/core';
import { toEvent } from './cache-feed.js';
import type { Upstream } from './upstream.js';

/** How often a relay asks the members how far its watch has got. */
const PROGRESS_EVERY_MS = 200;

export class HistoryRelay {
  private hub: WatchHub | undefined;
  private readonly active = new Map<Watcher, grpc.ClientDuplexStream<unknown, proto.Decoded<proto.WatchResponse>>>();

  constructor(
    private readonly upstream: Upstream,
    private readonly cache: WatchCache,
    private readonly maxRelays = 10_000,
  ) {}

  /** The hub the relayed watchers belong to (set once it exists: the hub is built over the history this relay serves). */
  attach(hub: WatchHub): void {
    this.hub = hub;
  }

  get size(): number {
    return this.active.size;
  }

  /** Takes `w` over if there is room; the hub calls this through the cache history. */
  start(w: Watcher): boolean {
    if (this.hub === undefined || this.active.size >= this.maxRelays || this.active.has(w)) return false;
    const hub = this.hub;
    const stream = this.upstream.client('Watch').Watch() as unknown as grpc.ClientDuplexStream<unknown, proto.Decoded<proto.WatchResponse>>;
    this.active.set(w, stream);
    let progressTimer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      clearInterval(progressTimer);
      if (this.active.get(w) !== stream) return;
      this.active.delete(w);
      stream.cancel();
    };
    const handBack = (minRev: number): void => {
      stop();
      hub.reattach(w, minRev);
      hub.syncUnsynced();
    };
    stream.on('data', (res: proto.Decoded<proto.WatchResponse>) => {
      if (!hub.isRelayed(w)) return stop();
      if (res.canceled) {
        const compact = proto.int64ToNumber(res.compactRevision, 'compact_revision');
        stop();
        if (compact > 0) hub.cancelRelayed(w, compact);
        else hub.reattach(w, w.minRev);
        return;
      }
      if (res.created) {
        progressTimer ??= setInterval(() => stream.write({ progressRequest: {} }), PROGRESS_EVERY_MS);
        progressTimer.unref();
        return;
      }
      if (res.events.length === 0) {
        // A progress response: the members sent every event in range up to its revision.
        const next = proto.int64ToNumber(res.header?.revision ?? 0, 'revision') + 1;
        if (next > this.cache.oldestRevision && next >= w.minRev) handBack(next);
        return;
      }
      // One response per upstream response, as a member sends its history: whole revisions only.
      const out: KvEvent[] = [];
      let handBackAt: number | undefined;
      for (const batch of byRevision(res.events.map(toEvent))) {
        if (batch.revision > this.cache.oldestRevision || w.stream.isFull) {
          handBackAt = batch.revision;
          break;
        }
        out.push(...batch.events);
      }
      if (out.length > 0) {
        w.gotEvents = true;
        w.stream.push({ watchId: w.id, events: out, revision: Math.max(out[out.length - 1]!.kv.modRevision, hub.revision) });
        w.minRev = out[out.length - 1]!.kv.modRevision + 1;
      }
      // Every event in range below `handBackAt` has been sent (the members deliver in order).
      if (handBackAt !== undefined) return handBack(handBackAt);
      if (w.minRev > this.cache.oldestRevision) handBack(w.minRev);
    });
    // A failed upstream watch hands the watcher back; the hub relays it again on its next sync.
    stream.on('error', () => {
      if (this.active.get(w) === stream) handBack(w.minRev);
    });
    stream.on('end', () => {
      if (this.active.get(w) === stream) handBack(w.minRev);
    });
    const filters: number[] = [];
    if (w.noPut) filters.push(0);
    if (w.noDelete) filters.push(1);
    stream.write({
      createRequest: {
        key: w.key,
        rangeEnd: w.end === undefined ? new Uint8Array(0) : w.end === 'open' ? Uint8Array.of(0) : w.end,
        startRevision: w.minRev,
        prevKv: w.prevKv,
        filters,
      },
    });
    return true;
  }

  close(): void {
    for (const s of this.active.values()) s.cancel();
    this.active.clear();
  }
}

function byRevision(events: readonly KvEvent[]): Array<{ revision: number; events: KvEvent[] }> {
  const out: Array<{ revision: number; events: KvEvent[] }> = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (last !== undefined && last.revision === e.kv.modRevision) last.events.push(e);
    else out.push({ revision: e.kv.modRevision, events: [e] });
  }
  return out;
}
