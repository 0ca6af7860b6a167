import type { KeyValue } from '../kv/key-value.js';
import type { KvEvent } from '../kv/kv-event.js';
import type { Watcher } from './watcher.js';

/**
 * Where a watch hub reads the past from: a member's MVCC store, or a proxy's watch cache.
 * Synchronous, because the hub is.
 */
export interface WatchHistory {
  /** The latest revision the source holds. */
  readonly currentRevision: number;
  /** The compact revision: watchers needing revisions below it are canceled with it. */
  readonly compactRevision: number;
  /** The lowest revision `history` can return events from. */
  readonly firstHistoryRevision: number;
  /**
   * The changes with revisions in [fromRev, toRev], in order, whole revisions only, at most
   * about `limit` events; `lastRevision` is the last revision covered (continue from it + 1).
   */
  history(fromRev: number, toRev: number, options?: { readonly limit?: number }): { readonly events: readonly KvEvent[]; readonly lastRevision: number };
  /** The key's value just before `event`, if it existed. */
  prevKvOf(event: KvEvent): KeyValue | undefined;
  /**
   * A watcher needs revisions below `firstHistoryRevision`. Return true to take it over (a
   * proxy replays them from the members' history, then hands it back with
   * {@link WatchHub.reattach}); false, or absent, cancels it as compacted.
   */
  relayBehind?(watcher: Watcher): boolean;
  /**
   * Whether a watcher inside the history must still be relayed first (a proxy cannot tell
   * whether the members compacted a revision its window holds; their history can).
   */
  mustRelay?(watcher: Watcher): boolean;
}
