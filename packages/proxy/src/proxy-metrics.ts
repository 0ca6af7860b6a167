/**
 * The proxy's Prometheus metrics, in one registry served at /metrics. Gauges read the cache
 * and feed when scraped, so the hot paths only bump counters.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WatchCache, WatchHub } from '@kvfleet/core';

export interface ProxyMetricsSources {
  readonly cache: WatchCache;
  readonly hub: () => WatchHub | undefined;
  /** Revisions the cache is behind the newest known upstream revision (0: caught up). */
  readonly lagRevisions: () => number;
  /** How long the cache has been behind the newest known upstream revision, in ms (0: caught up). */
  readonly lagMs: () => number;
}

export class ProxyMetrics {
  readonly registry = new Registry();
  readonly rangeFromCache: Counter;
  readonly rangeForwarded: Counter;
  readonly linearizableChecks: Counter;
  readonly upstreamRevisionChecks: Counter;
  readonly readWaitSeconds: Histogram;
  readonly eventsApplied: Counter;

  constructor(sources: ProxyMetricsSources) {
    const registers = [this.registry];
    this.rangeFromCache = new Counter({ name: 'kvfleet_proxy_range_cache_total', help: 'Range requests answered from the watch cache', registers });
    this.rangeForwarded = new Counter({ name: 'kvfleet_proxy_range_forwarded_total', help: 'Range requests forwarded to the members', registers });
    this.linearizableChecks = new Counter({ name: 'kvfleet_proxy_linearizable_reads_total', help: 'Linearizable Range requests received', registers });
    this.upstreamRevisionChecks = new Counter({ name: 'kvfleet_proxy_upstream_revision_checks_total', help: 'Linearizable revision checks sent to the members (one serves a batch of reads)', registers });
    this.readWaitSeconds = new Histogram({
      name: 'kvfleet_proxy_consistent_read_wait_seconds',
      help: 'Time reads waited for the cache to reach the revision they need',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.eventsApplied = new Counter({ name: 'kvfleet_proxy_events_applied_total', help: 'Upstream events applied to the watch cache', registers });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge('kvfleet_proxy_cache_revision', 'Revision the watch cache is at', () => sources.cache.revision);
    gauge('kvfleet_proxy_cache_oldest_revision', 'Oldest revision the watch cache can answer at', () => sources.cache.oldestRevision);
    gauge('kvfleet_proxy_cache_keys', 'Keys held by the watch cache', () => sources.cache.stats().keys);
    gauge('kvfleet_proxy_cache_bytes', 'Key and value bytes held by the watch cache', () => sources.cache.stats().bytes);
    gauge('kvfleet_proxy_cache_window_events', 'Events in the watch cache window', () => sources.cache.stats().windowEvents);
    gauge('kvfleet_proxy_cache_window_bytes', 'Estimated bytes of the watch cache window', () => sources.cache.stats().windowBytes);
    gauge('kvfleet_proxy_upstream_lag_revisions', 'Revisions the cache is behind the newest known upstream revision', sources.lagRevisions);
    gauge('kvfleet_proxy_upstream_lag_seconds', 'How long the cache has been behind the newest known upstream revision (0 when caught up)', () => sources.lagMs() / 1000);
    gauge('kvfleet_proxy_watchers', 'Watchers open on this proxy', () => sources.hub()?.watcherCount ?? 0);
    gauge('kvfleet_proxy_watchers_unsynced', 'Watchers catching up from the window', () => sources.hub()?.unsyncedCount ?? 0);
    let sentSeen = 0;
    new Counter({
      name: 'kvfleet_proxy_watch_events_sent_total',
      help: 'Events sent to watchers (one per event per watcher)',
      registers,
      collect() {
        const sent = sources.hub()?.eventsSent ?? 0;
        // The hub's own count only grows; the counter takes the difference since the last scrape.
        if (sent > sentSeen) this.inc(sent - sentSeen);
        sentSeen = sent;
      },
    });
  }
}
