/**
 * Reading the store's history: the changes of a revision range in revision order, whole
 * revisions only, as a watch catches up from it.
 */
import type { KvEvent } from '@kvfleet/core';
import type { ReadView } from '../backend/backend.js';
import { scanRecords } from './kv-read.js';
import type { KeyValue } from './kv-record.js';
import { encodeRevision } from './revision.js';

export interface HistoryOptions {
  /** Most events to return (whole revisions only, see {@link KvStore.history}); 0 or absent for no limit. */
  readonly limit?: number;
  /** Attach each event's previous value of its key (see {@link KvStore.prevKvOf}). */
  readonly prevKv?: boolean;
}

export interface HistoryResult {
  /** The changes in revision order (main, then sub). */
  readonly events: KvEvent[];
  /**
   * The last main revision the result covers: every change up to it from `fromRev` is in
   * `events`. Below `toRev` only when the limit cut the read short; continue from it + 1.
   */
  readonly lastRevision: number;
}

/**
 * The changes with main revision in [fromRev, toRev] (checked by the caller), at most about
 * `limit` events (0: no limit) in whole revisions; `prevKvOf` attaches each event's previous value.
 */
export function readHistory(
  view: ReadView,
  fromRev: number,
  toRev: number,
  limit: number,
  prevKvOf: ((type: KvEvent['type'], kv: KeyValue) => KeyValue | undefined) | undefined,
): HistoryResult {
  const events: KvEvent[] = [];
  if (fromRev > toRev) return { events, lastRevision: toRev };
  const gte = encodeRevision({ main: fromRev, sub: 0 });
  const lt = encodeRevision({ main: toRev + 1, sub: 0 });
  // The revision being read is collected apart until it is known to fit the limit.
  let group: KvEvent[] = [];
  let groupRev = 0;
  for (const { rev, tombstone, kv } of scanRecords(view, gte, lt)) {
    if (rev.main !== groupRev) {
      for (const e of group) events.push(e);
      group = [];
      if (limit > 0 && events.length >= limit) return { events, lastRevision: rev.main - 1 };
      groupRev = rev.main;
    }
    if (limit > 0 && events.length > 0 && events.length + group.length + 1 > limit) {
      return { events, lastRevision: groupRev - 1 };
    }
    const type = tombstone ? 'delete' : 'put';
    const prevKv = prevKvOf?.(type, kv);
    group.push(prevKv === undefined ? { type, kv } : { type, kv, prevKv });
  }
  for (const e of group) events.push(e);
  return { events, lastRevision: toRev };
}
