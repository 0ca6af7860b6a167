/**
 * Which of a revision's events one watcher receives: its key range, its filters (NOPUT,
 * NODELETE) and whether it asked for prev_kv. Kept apart from the cache so every watcher on a
 * proxy, and later a client-side cache, selects events the same way a member does.
 */
import { inRange } from '../keys.js';
import type { CacheEvent, RevisionEvents } from './watch-cache.js';

export interface WatchFilter {
  readonly key: Uint8Array;
  /** etcd's range_end: empty for one key, `[0x00]` for every key from `key` on. */
  readonly rangeEnd: Uint8Array;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly prevKv: boolean;
}

/** The events of `batch` that `filter` receives, prev_kv dropped unless asked for; possibly none. */
export function selectEvents(batch: RevisionEvents, filter: WatchFilter): CacheEvent[] {
  const out: CacheEvent[] = [];
  for (const e of batch.events) {
    if (e.type === 'put' ? filter.noPut : filter.noDelete) continue;
    if (!inRange(e.kv.key, filter.key, filter.rangeEnd)) continue;
    out.push(filter.prevKv || e.prevKv === undefined ? e : { type: e.type, kv: e.kv });
  }
  return out;
}
