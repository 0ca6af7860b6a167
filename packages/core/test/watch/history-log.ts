/**
 * A store for the hub's tests: every revision's events kept in memory, implementing the
 * WatchHistory seam the hub reads from (as a member's MVCC store and a proxy's cache do), and a
 * model of the keyspace that writes go through.
 */
import type { KeyValue } from '../../src/kv/key-value.js';
import type { KvEvent } from '../../src/kv/kv-event.js';
import type { WatchHistory } from '../../src/watch/watch-history.js';
import type { WatchHub } from '../../src/watch/watch-hub.js';

export const k = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
export const str = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

export type Op = { put: string; value: string } | { del: string };

export class HistoryLog implements WatchHistory {
  /** revisions[i] holds revision i + 2's events (etcd's first change is revision 2). */
  private readonly revisions: KvEvent[][] = [];
  private readonly live = new Map<string, KeyValue>();
  private compacted = 0;
  /** When set, writes are not announced: the caller notifies the hub itself (or skips). */
  hub: WatchHub | undefined;

  get currentRevision(): number {
    return this.revisions.length + 1;
  }

  get compactRevision(): number {
    return this.compacted;
  }

  get firstHistoryRevision(): number {
    return Math.max(1, this.compacted + 1);
  }

  /** One revision: its ops in order (a delete of a missing key does nothing; a revision that changes nothing is not made). */
  write(ops: readonly Op[], announce = true): number {
    const rev = this.currentRevision + 1;
    const events: KvEvent[] = [];
    for (const op of ops) {
      if ('put' in op) {
        const prev = this.live.get(op.put);
        const kv: KeyValue = {
          key: k(op.put),
          value: k(op.value),
          createRevision: prev?.createRevision ?? rev,
          modRevision: rev,
          version: (prev?.version ?? 0) + 1,
          lease: 0,
        };
        this.live.set(op.put, kv);
        events.push(prev === undefined ? { type: 'put', kv } : { type: 'put', kv, prevKv: prev });
      } else {
        const prev = this.live.get(op.del);
        if (prev === undefined) continue;
        this.live.delete(op.del);
        const kv: KeyValue = { key: k(op.del), value: new Uint8Array(0), createRevision: 0, modRevision: rev, version: 0, lease: 0 };
        events.push({ type: 'delete', kv, prevKv: prev });
      }
    }
    if (events.length === 0) return this.currentRevision;
    this.revisions.push(events);
    if (announce) this.hub?.notify(rev, events);
    return rev;
  }

  put(key: string, value: string): number {
    return this.write([{ put: key, value }]);
  }

  del(key: string): number {
    return this.write([{ del: key }]);
  }

  compact(rev: number): void {
    this.compacted = Math.max(this.compacted, rev);
  }

  /** The events of revision `rev`, as stored (with prevKv). */
  eventsAt(rev: number): readonly KvEvent[] {
    return this.revisions[rev - 2] ?? [];
  }

  history(fromRev: number, toRev: number, options: { readonly limit?: number } = {}): { events: KvEvent[]; lastRevision: number } {
    if (fromRev < this.firstHistoryRevision) throw new Error(`history from ${fromRev} is compacted`);
    const events: KvEvent[] = [];
    const limit = options.limit ?? 0;
    for (let rev = Math.max(2, fromRev); rev <= toRev; rev++) {
      const at = this.eventsAt(rev);
      // Whole revisions only, and always at least one.
      if (limit > 0 && events.length > 0 && events.length + at.length > limit) return { events, lastRevision: rev - 1 };
      for (const e of at) events.push(e.prevKv === undefined ? e : { type: e.type, kv: e.kv });
    }
    return { events, lastRevision: toRev };
  }

  prevKvOf(event: KvEvent): KeyValue | undefined {
    for (let rev = event.kv.modRevision - 1; rev >= Math.max(2, this.compacted); rev--) {
      for (const e of [...this.eventsAt(rev)].reverse()) {
        if (str(e.kv.key) === str(event.kv.key)) return e.type === 'put' ? e.kv : undefined;
      }
    }
    return undefined;
  }
}
