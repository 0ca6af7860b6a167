/**
 * One watch: what it selects, how far it has got, and how its events are shaped (filters,
 * prev_kv). The hub moves it between synced and unsynced; its stream owns it.
 */
import type { KeyValue } from '../kv/key-value.js';
import type { KvEvent } from '../kv/kv-event.js';
import type { WatchResponse } from './watch-messages.js';
import type { IndexedWatcher, WatchEnd } from './watcher-index.js';

/** What the hub uses of the stream that owns a watcher (WatchStream). */
export interface WatcherStream {
  /** Its paused sink's queue is full: no events are pushed to its watchers. */
  readonly isFull: boolean;
  /** Its watchers the hub holds unsynced; kept by the hub. */
  unsyncedCount: number;
  push(response: WatchResponse): void;
  /** Drops `w` from the stream and the hub. */
  remove(w: Watcher): void;
  /** Sends a deferred progress response once every watcher is synced. */
  tryProgress(): void;
}

export class Watcher implements IndexedWatcher {
  /**
   * The next revision this watcher needs: it has been given every matching change below it.
   * For a synced watcher only meaningful while above the hub's revision (a future start),
   * since synced watchers are not touched by writes that do not concern them.
   */
  minRev = 0;
  /** Whether writes are pushed to it as they happen (else it catches up from history). */
  synced = false;
  /** Whether it got events since the last progress tick (etcd elides that tick's progress). */
  gotEvents = false;

  constructor(
    readonly id: number,
    readonly stream: WatcherStream,
    readonly key: Uint8Array,
    readonly end: WatchEnd,
    readonly startRevision: number,
    readonly prevKv: boolean,
    readonly noPut: boolean,
    readonly noDelete: boolean,
    readonly progressNotify: boolean,
  ) {}

  /** `events` as this watcher reports them: filtered, with prevKv when asked, without otherwise. */
  shape(events: readonly KvEvent[], prevOf: (e: KvEvent) => KeyValue | undefined): KvEvent[] {
    const out: KvEvent[] = [];
    for (const e of events) {
      if (e.type === 'put' ? this.noPut : this.noDelete) continue;
      if (this.prevKv) {
        const p = prevOf(e);
        out.push(p === undefined ? { type: e.type, kv: e.kv } : { type: e.type, kv: e.kv, prevKv: p });
      } else {
        out.push(e.prevKv === undefined ? e : { type: e.type, kv: e.kv });
      }
    }
    return out;
  }
}
