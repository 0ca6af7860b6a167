/**
 * What happens after the feed changes the cache: the watch hub hands the new revision's events
 * to synced watchers, unsynced ones catch up from the window, and reads waiting for the
 * revision wake. A re-list (the cache jumped ahead without events) makes every watcher fall
 * behind; those whose next revision left the window are canceled as compacted, as etcd would.
 */
import { failpoint, WatchHub, type WatchCache } from '@kvfleet/core';
import { CacheHistory, type BehindWindowRelay } from './cache-history.js';
import { RevisionWaiters } from './revision-waiters.js';

/** Robustness failpoint: synced watchers miss one event of the Nth revision with events (a known bug). */
const SKIP_EVENT_AT = Number(failpoint('proxyWatchSkipEvent') ?? 0);

/** How often watchers behind the cache catch up (after a slow stream drains), as on a member. */
const WATCH_SYNC_INTERVAL_MS = 100;
/** etcd's default progress notification interval for watchers that ask for it. */
const WATCH_PROGRESS_INTERVAL_MS = 10 * 60 * 1000;

export class CachePipeline {
  readonly hub: WatchHub;
  readonly waiters: RevisionWaiters;
  private readonly timers: NodeJS.Timeout[] = [];
  private revisionsWithEvents = 0;

  constructor(
    private readonly cache: WatchCache,
    options: { readonly progressIntervalMs?: number; readonly relay?: BehindWindowRelay } = {},
  ) {
    this.hub = new WatchHub(new CacheHistory(cache, options.relay));
    this.waiters = new RevisionWaiters(() => cache.revision);
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(WATCH_SYNC_INTERVAL_MS, () => this.hub.syncUnsynced());
    every(options.progressIntervalMs ?? WATCH_PROGRESS_INTERVAL_MS, () => this.hub.progressTick());
  }

  /** The feed applied `revision` to the cache. */
  revisionApplied(revision: number): void {
    const batch = this.cache.eventsAfter(revision - 1)?.[0];
    if (batch !== undefined && batch.revision === revision && revision > this.hub.revision) {
      this.revisionsWithEvents += 1;
      this.hub.notify(revision, this.revisionsWithEvents === SKIP_EVENT_AT ? batch.events.slice(1) : batch.events);
    } else if (revision > this.hub.revision) {
      this.hub.notify(revision, []);
    }
    this.hub.syncUnsynced();
    this.waiters.advance(revision);
  }

  /** The feed re-listed the cache at `revision`. */
  reset(revision: number): void {
    this.hub.rebase(revision);
    this.hub.syncUnsynced();
    this.waiters.advance(revision);
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.waiters.close();
  }
}
