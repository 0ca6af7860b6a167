/**
 * The proxy's watch cache seen as a watch hub's history: watchers that start inside the window
 * catch up from memory.
 *
 * A watcher needing revisions older than the window is canceled with the window's start as
 * its compact revision, which clients treat as etcd's compaction (re-list, then watch again).
 * Serving those from the upstream's history instead is the next step (see docs/proxy.md).
 */
import type { KeyValue, KvEvent, WatchCache, WatchHistory } from '@kvfleet/core';

export class CacheHistory implements WatchHistory {
  constructor(private readonly cache: WatchCache) {}

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
