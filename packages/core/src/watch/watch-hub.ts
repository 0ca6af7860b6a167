/**
 * The watch hub: what etcd's watchableStore is to etcd. It holds every watcher over one
 * {@link KvStore}, split as etcd splits them:
 *
 * - synced watchers have seen every change up to the hub's revision; {@link notify} pushes
 *   each new revision's changes to those it concerns, found through a {@link WatcherIndex};
 * - unsynced watchers (a start revision in the past, or a stream that was full when a change
 *   came) catch up from the store's history in bounded steps in {@link syncUnsynced}, and
 *   rejoin the synced ones once they reach the hub's revision. This replaces etcd's victim
 *   list: nothing is held for a slow stream but each watcher's next revision.
 *
 * The hub is pure and synchronous: the server drives it (notify after each write that
 * changed something, syncUnsynced on a timer and after notify/create/resume, progress ticks
 * on a timer). Its revision is the last one notified, not the store's, so a progress response
 * never vouches for a committed write whose events have not been handed out yet.
 */
import type { KeyValue } from '../kv/key-value.js';
import type { KvEvent } from '../kv/kv-event.js';
import type { WatchHistory } from './watch-history.js';
import type { WatchResponse, WatchSink, WatchStreamOptions } from './watch-messages.js';
import { type StreamHost, WatchStream } from './watch-stream.js';
import type { Watcher, WatcherStream } from './watcher.js';
import { WatcherIndex } from './watcher-index.js';

/** Events read from history per {@link WatchHub.syncUnsynced} call by default. */
export const DEFAULT_SYNC_EVENTS = 1000;

export class WatchHub implements StreamHost {
  private rev: number;
  private readonly synced = new WatcherIndex<Watcher>();
  private readonly unsynced = new Set<Watcher>();
  /** Watchers a relay is replaying older history to; counted as unsynced by their streams. */
  private readonly relayed = new Set<Watcher>();
  private readonly streams = new Set<WatchStream>();
  private work = 0;
  private sentEvents = 0;

  constructor(
    private readonly store: WatchHistory,
    /** Deliberately wrong behaviour, only for proving that the simulator's watch checks catch it. */
    private readonly testingBugs: { readonly skipCompactedEvents?: boolean } = {},
  ) {
    this.rev = store.currentRevision;
  }

  /** The last revision notified (at start, the store's): what progress responses report. */
  get revision(): number {
    return this.rev;
  }

  /** Watchers waiting to catch up from history. */
  get unsyncedCount(): number {
    return this.unsynced.size;
  }

  /** Every watcher: synced, catching up, and relayed. */
  get watcherCount(): number {
    return this.synced.size + this.unsynced.size + this.relayed.size;
  }

  /** Events handed to watch streams so far (one per event per watcher). */
  get eventsSent(): number {
    return this.sentEvents;
  }

  /** Watchers and key intervals examined while matching changes so far: the hub's work. */
  get matchWork(): number {
    return this.work;
  }

  /** Opens a client stream whose responses go to `sink`. */
  openStream(sink: WatchSink, options: WatchStreamOptions = {}): WatchStream {
    const s = new WatchStream(this, sink, options);
    this.streams.add(s);
    return s;
  }

  /**
   * Hands out the changes of `revision` (one KvStore.write's events, in sub order) to the
   * synced watchers they concern. Must be called for every revision in order. If revisions
   * were skipped, every synced watcher falls back to history, so none misses them.
   */
  notify(revision: number, events: readonly KvEvent[]): void {
    if (!Number.isSafeInteger(revision) || revision <= this.rev) {
      throw new RangeError(`watch notify of revision ${String(revision)} after ${String(this.rev)}`);
    }
    if (revision > this.rev + 1) {
      for (const w of [...this.synced.values()]) this.markUnsynced(w, Math.max(w.minRev, this.rev + 1));
      this.rev = revision;
      return;
    }
    this.rev = revision;
    const batches = new Map<Watcher, KvEvent[]>();
    for (const e of events) {
      this.work += this.synced.match(e.kv.key, (w) => {
        // A watcher starting in the future ignores changes before its start.
        if (w.minRev > revision) return;
        const b = batches.get(w);
        if (b === undefined) batches.set(w, [e]);
        else b.push(e);
      });
    }
    const prevOf = this.prevKvCache();
    for (const [w, evs] of batches) {
      if (w.stream.isFull) {
        this.markUnsynced(w, revision);
        continue;
      }
      w.minRev = revision + 1;
      this.send(w, evs, prevOf);
    }
  }

  /**
   * The history was replaced up to `revision` without its events (a proxy's cache re-listed):
   * every synced watcher falls back to history, where one whose next revision is gone is
   * canceled as compacted. Never moves the hub's revision back.
   */
  rebase(revision: number): void {
    for (const w of [...this.synced.values()]) this.markUnsynced(w, Math.max(w.minRev, this.rev + 1));
    if (revision > this.rev) this.rev = revision;
  }

  /**
   * Moves unsynced watchers forward: reads at most about `maxEvents` changes (whole
   * revisions) from the store's history, from the oldest revision one of them needs, and
   * sends each its part; watchers reaching the hub's revision become synced. A watcher whose
   * next revision is compacted is canceled with compactRevision set; one at exactly the compact
   * revision is served when the store's history starts there (KvStore.firstHistoryRevision).
   * Watchers of full streams wait. Returns how many watchers are still unsynced.
   */
  syncUnsynced(maxEvents = DEFAULT_SYNC_EVENTS): number {
    if (this.unsynced.size === 0) return 0;
    const compacted = this.store.compactRevision;
    const first = this.store.firstHistoryRevision;
    const touched = new Set<WatcherStream>();
    const ready: Watcher[] = [];
    const readyIndex = new WatcherIndex<Watcher>();
    let from = Number.MAX_SAFE_INTEGER;
    for (const w of [...this.unsynced]) {
      if (w.stream.isFull) continue;
      touched.add(w.stream);
      if (w.minRev > this.rev) {
        this.markSynced(w);
      } else if (w.minRev < first || this.store.mustRelay?.(w) === true) {
        if (this.store.relayBehind?.(w) === true) {
          this.unsynced.delete(w);
          this.relayed.add(w);
        } else if (this.testingBugs.skipCompactedEvents === true && w.minRev < first) {
          // The bug: the watcher goes on from the oldest history left, its compacted events skipped.
          w.minRev = first;
          ready.push(w);
          readyIndex.add(w);
          from = Math.min(from, w.minRev);
        } else {
          this.cancelCompacted(w, compacted);
        }
      } else {
        ready.push(w);
        readyIndex.add(w);
        from = Math.min(from, w.minRev);
      }
    }
    if (ready.length > 0) {
      const history = this.store.history(from, this.rev, { limit: maxEvents });
      const batches = new Map<Watcher, KvEvent[]>();
      for (const e of history.events) {
        this.work += readyIndex.match(e.kv.key, (w) => {
          if (e.kv.modRevision < w.minRev) return;
          const b = batches.get(w);
          if (b === undefined) batches.set(w, [e]);
          else b.push(e);
        });
      }
      const prevOf = this.prevKvCache();
      for (const w of ready) {
        // Not reached by this read yet, or its stream filled up during this loop.
        if (w.minRev > history.lastRevision || w.stream.isFull) continue;
        const evs = batches.get(w);
        if (evs !== undefined) this.send(w, evs, prevOf);
        w.minRev = history.lastRevision + 1;
        if (w.minRev > this.rev) this.markSynced(w);
      }
    }
    for (const s of touched) s.tryProgress();
    return this.unsynced.size;
  }

  /** Runs every open stream's progress tick (see {@link WatchStream.progressTick}). */
  progressTick(): void {
    for (const s of this.streams) s.progressTick();
  }

  /** @internal A new watcher of a stream: synced if it starts after the hub's revision. */
  attach(w: Watcher): void {
    if (w.startRevision === 0 || w.startRevision > this.rev) {
      w.minRev = Math.max(this.rev + 1, w.startRevision);
      w.synced = true;
      this.synced.add(w);
    } else {
      w.minRev = w.startRevision;
      w.synced = false;
      this.unsynced.add(w);
      w.stream.unsyncedCount++;
    }
  }

  /** @internal Removes a watcher its stream dropped. */
  detach(w: Watcher): void {
    if (w.synced) {
      this.synced.delete(w);
    } else if (this.unsynced.delete(w) || this.relayed.delete(w)) {
      w.stream.unsyncedCount--;
    }
    w.synced = false;
  }

  /** Whether a relay still holds `w` (false once its client canceled it or its stream closed). */
  isRelayed(w: Watcher): boolean {
    return this.relayed.has(w);
  }

  /** A relay hands `w` back, needing revisions from `minRev` on; it catches up as any unsynced watcher. */
  reattach(w: Watcher, minRev: number): void {
    if (!this.relayed.delete(w)) return;
    w.minRev = minRev;
    this.unsynced.add(w);
  }

  /** A relay found `w`'s history compacted upstream: cancel it as etcd does, with that revision. */
  cancelRelayed(w: Watcher, compactRevision: number): void {
    if (!this.relayed.delete(w)) return;
    w.stream.unsyncedCount--;
    const stream = w.stream;
    stream.remove(w);
    stream.push({ watchId: w.id, canceled: true, compactRevision, events: [], revision: 0 });
  }

  /** @internal A closed stream. */
  forget(s: WatchStream): void {
    this.streams.delete(s);
  }

  private send(w: Watcher, events: KvEvent[], prevOf: (e: KvEvent) => KeyValue | undefined): void {
    const shaped = w.shape(events, prevOf);
    // Everything filtered out: nothing is sent (etcd's watcher.send does the same).
    if (shaped.length === 0) return;
    w.gotEvents = true;
    this.sentEvents += shaped.length;
    w.stream.push({ watchId: w.id, events: shaped, revision: this.rev });
  }

  /**
   * etcd cancels a watcher whose next revision is below the compact revision and reports
   * that revision. Ours also cancels at exactly the compact revision when that compaction
   * dropped a change made at it (a delete; see KvStore.history), and then reports compact + 1
   * so a client resuming from compactRevision is served; otherwise it replays from there, as etcd.
   */
  private cancelCompacted(w: Watcher, compacted: number): void {
    const compactRevision = w.minRev < compacted ? compacted : compacted + 1;
    const stream = w.stream;
    stream.remove(w);
    const r: WatchResponse = { watchId: w.id, canceled: true, compactRevision, events: [], revision: 0 };
    stream.push(r);
  }

  private markSynced(w: Watcher): void {
    this.unsynced.delete(w);
    w.stream.unsyncedCount--;
    w.synced = true;
    this.synced.add(w);
  }

  private markUnsynced(w: Watcher, minRev: number): void {
    this.synced.delete(w);
    w.synced = false;
    w.minRev = minRev;
    this.unsynced.add(w);
    w.stream.unsyncedCount++;
  }

  /** prevKv lookups memoized per event for one batch of sends. */
  private prevKvCache(): (e: KvEvent) => KeyValue | undefined {
    const cache = new Map<KvEvent, KeyValue | undefined>();
    return (e) => {
      if (cache.has(e)) return cache.get(e);
      const p = this.store.prevKvOf(e);
      cache.set(e, p);
      return p;
    };
  }
}
