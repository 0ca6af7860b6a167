/**
 * A min-heap of lease ids by deadline (ms), at most one entry per id, with update and removal
 * by id: the lessor's queue of expiries and of checkpoints. One entry per id keeps the heap as
 * small as the lease map however often a lease is renewed (etcd's expiry notifier does the same).
 * Ties break by id so the order is the same on every run.
 */
export class DeadlineQueue {
  private readonly ids: number[] = [];
  private readonly times: number[] = [];
  /** Heap slot of each queued id. */
  private readonly slot = new Map<number, number>();

  get size(): number {
    return this.ids.length;
  }

  has(id: number): boolean {
    return this.slot.has(id);
  }

  /** The earliest entry, or undefined when empty. */
  peek(): { id: number; time: number } | undefined {
    return this.ids.length === 0 ? undefined : { id: this.ids[0]!, time: this.times[0]! };
  }

  /** Queues `id` at `time`, moving it if already queued. */
  set(id: number, time: number): void {
    const at = this.slot.get(id);
    if (at === undefined) {
      this.ids.push(id);
      this.times.push(time);
      this.slot.set(id, this.ids.length - 1);
      this.up(this.ids.length - 1);
      return;
    }
    this.times[at] = time;
    this.down(this.up(at));
  }

  /** Removes `id` if queued. */
  delete(id: number): void {
    const at = this.slot.get(id);
    if (at === undefined) return;
    const last = this.ids.length - 1;
    this.swap(at, last);
    this.ids.pop();
    this.times.pop();
    this.slot.delete(id);
    if (at < last) this.down(this.up(at));
  }

  clear(): void {
    this.ids.length = 0;
    this.times.length = 0;
    this.slot.clear();
  }

  private less(a: number, b: number): boolean {
    const ta = this.times[a]!;
    const tb = this.times[b]!;
    return ta < tb || (ta === tb && this.ids[a]! < this.ids[b]!);
  }

  private swap(a: number, b: number): void {
    if (a === b) return;
    const id = this.ids[a]!;
    const time = this.times[a]!;
    this.ids[a] = this.ids[b]!;
    this.times[a] = this.times[b]!;
    this.ids[b] = id;
    this.times[b] = time;
    this.slot.set(this.ids[a]!, a);
    this.slot.set(this.ids[b]!, b);
  }

  /** Sifts slot `i` up; returns where it ended. */
  private up(i: number): number {
    let at = i;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.less(at, parent)) break;
      this.swap(at, parent);
      at = parent;
    }
    return at;
  }

  private down(i: number): void {
    let at = i;
    const n = this.ids.length;
    for (;;) {
      const l = 2 * at + 1;
      const r = l + 1;
      let min = at;
      if (l < n && this.less(l, min)) min = l;
      if (r < n && this.less(r, min)) min = r;
      if (min === at) return;
      this.swap(at, min);
      at = min;
    }
  }
}
