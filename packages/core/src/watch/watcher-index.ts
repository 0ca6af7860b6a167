/**
 * Finds the watchers whose key range contains a key, so a write touching one key does work
 * in proportion to the watchers it concerns, not to all watchers.
 *
 * Single-key watchers (the common case: thousands of them on distinct keys) sit in a map by
 * key: O(1) per lookup. Range watchers are grouped by their exact interval (many watchers
 * usually share a prefix) and the distinct intervals kept in an array sorted by start, with
 * the running maximum of their ends. A lookup binary-searches the last interval starting at or
 * before the key and walks back only while some earlier interval still reaches past the key.
 * The sorted array is rebuilt lazily after adds and deletes, so creating many range watchers
 * costs one sort at the next lookup.
 */
import { compareKeys } from '../keys.js';

/** A parsed range end: undefined for a single key, 'open' for every key from `key` on. */
export type WatchEnd = Uint8Array | 'open' | undefined;

export interface IndexedWatcher {
  readonly key: Uint8Array;
  readonly end: WatchEnd;
}

interface Interval<W> {
  readonly start: Uint8Array;
  readonly end: Uint8Array | 'open';
  readonly watchers: Set<W>;
}

export class WatcherIndex<W extends IndexedWatcher> {
  private readonly single = new Map<string, Set<W>>();
  private readonly intervals = new Map<string, Interval<W>>();
  private sorted: Interval<W>[] = [];
  /** maxEnd[i]: the greatest end among sorted[0..i]. */
  private maxEnd: (Uint8Array | 'open')[] = [];
  private dirty = false;
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(w: W): void {
    if (w.end === undefined) {
      const id = keyId(w.key);
      let set = this.single.get(id);
      if (set === undefined) this.single.set(id, (set = new Set()));
      if (!set.has(w)) this.count++;
      set.add(w);
      return;
    }
    const id = intervalId(w.key, w.end);
    let iv = this.intervals.get(id);
    if (iv === undefined) {
      iv = { start: w.key, end: w.end, watchers: new Set() };
      this.intervals.set(id, iv);
      this.dirty = true;
    }
    if (!iv.watchers.has(w)) this.count++;
    iv.watchers.add(w);
  }

  delete(w: W): void {
    if (w.end === undefined) {
      const id = keyId(w.key);
      const set = this.single.get(id);
      if (set?.delete(w) === true) {
        this.count--;
        if (set.size === 0) this.single.delete(id);
      }
      return;
    }
    const id = intervalId(w.key, w.end);
    const iv = this.intervals.get(id);
    if (iv?.watchers.delete(w) === true) {
      this.count--;
      if (iv.watchers.size === 0) {
        this.intervals.delete(id);
        this.dirty = true;
      }
    }
  }

  /** Every watcher, in no particular order. */
  *values(): Generator<W> {
    for (const set of this.single.values()) yield* set;
    for (const iv of this.intervals.values()) yield* iv.watchers;
  }

  /**
   * Calls `visit` for every watcher whose range contains `key`; returns how many watchers and
   * intervals were examined (the work done, for tests and metrics).
   */
  match(key: Uint8Array, visit: (w: W) => void): number {
    let work = 0;
    const set = this.single.get(keyId(key));
    if (set !== undefined) {
      for (const w of set) {
        work++;
        visit(w);
      }
    }
    if (this.intervals.size === 0) return work;
    if (this.dirty) this.rebuild();
    // Last interval whose start is <= key.
    let lo = 0;
    let hi = this.sorted.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (compareKeys(this.sorted[mid]!.start, key) <= 0) {
        at = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    for (let i = at; i >= 0; i--) {
      work++;
      if (!endsAfter(this.maxEnd[i]!, key)) break;
      const iv = this.sorted[i]!;
      if (!endsAfter(iv.end, key)) continue;
      for (const w of iv.watchers) {
        work++;
        visit(w);
      }
    }
    return work;
  }

  private rebuild(): void {
    this.sorted = [...this.intervals.values()].sort((a, b) => compareKeys(a.start, b.start));
    this.maxEnd = [];
    let max: Uint8Array | 'open' | undefined;
    for (const iv of this.sorted) {
      if (max === undefined) max = iv.end;
      else if (max !== 'open' && (iv.end === 'open' || compareKeys(iv.end, max) > 0)) max = iv.end;
      this.maxEnd.push(max);
    }
    this.dirty = false;
  }
}

/** Whether a range ending at `end` (exclusive) still contains `key`. */
function endsAfter(end: Uint8Array | 'open', key: Uint8Array): boolean {
  return end === 'open' || compareKeys(key, end) < 0;
}

function keyId(key: Uint8Array): string {
  // latin1 maps each byte to one char, so distinct keys give distinct strings.
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

function intervalId(start: Uint8Array, end: Uint8Array | 'open'): string {
  // Length-prefixed so no two (start, end) pairs collide.
  return `${String(start.length)}:${keyId(start)}${end === 'open' ? '+' : `-${keyId(end)}`}`;
}
