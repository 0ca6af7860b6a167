/**
 * The proxy's watch cache seen as a watch hub's history: watchers that start inside the window
 * catch up from memory; older ones are replayed from the members by the relay. Without a relay
 * (or when it is full) such a watcher is canceled with the window's start as its compact
 * revision, which clients treat as etcd's compaction (list, then watch again).
 */
import type { KeyValue, KvEvent, WatchCache, Watcher, WatchHistory } from '@kvfleet/core';

export interface BehindWindowRelay {
  start(watcher: Watcher): boolean;
}

export class CacheHistory implements WatchHistory {
  constructor(
    private readonly cache: WatchCache,
    private readonly relay?: BehindWindowRelay,
  ) {}

  /** Watchers the members have vouched for: their start was not compacted. */
  private readonly verified = new WeakSet<Watcher>();

  relayBehind(watcher: Watcher): boolean {
    const started = this.relay?.start(watcher) ?? false;
    if (started) this.verified.add(watcher);
    return started;
  }

  /**
   * A watcher starting at a past revision goes to the members first, whose history knows
   * whether that revision was compacted (the cache may still hold it); once their watch has
   * accepted it, it continues from the window.
   */
  mustRelay(watcher: Watcher): boolean {
    return this.relay !== undefined && !this.verified.has(watcher) && watcher.minRev <= this.cache.revision;
  }

  get currentRevision(): number {
    return this.cache.revision;
  }

  get compactRevision(): number {
    return Math.max(this.cache.compactRevision, this.cache.oldestRevision);
  }

  get firstHistoryRevision(): number {
    return this.cache.oldestRevision + 1;
  }

  history(fromRev: number, toRev: number, options: { readonly limit?: number } = {}): { events: KvEvent[]; lastRevision: number } {
    const limit = options.limit ?? 0;
    const batches = this.cache.eventsAfter(fromRev - 1) ?? [];
    const events: KvEvent[] = [];
    let lastRevision = toRev;
    for (const b of batches) {
      if (b.revision > toRev) break;
      // Whole revisions only, as the member's store hands them out.
      if (limit > 0 && events.length > 0 && events.length + b.events.length > limit) {
        lastRevision = b.revision - 1;
        break;
      }
      for (const e of b.events) events.push(e);
    }
    return { events, lastRevision };
  }

  prevKvOf(event: KvEvent): KeyValue | undefined {
    // The cache attaches every event's previous value when it applies it.
    return event.prevKv;
  }
}
