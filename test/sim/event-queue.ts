/**
 * The simulator's clock: a min-heap of events ordered by time, then by insertion order, so
 * that two events at the same instant always run in the same order for a given seed.
 */
export class EventQueue<T> {
  private readonly heap: { time: number; seq: number; event: T }[] = [];
  private seq = 0;
  now = 0;

  schedule(delayMs: number, event: T): void {
    if (delayMs < 0) throw new RangeError(`negative delay ${delayMs}`);
    this.push({ time: this.now + delayMs, seq: this.seq++, event });
  }

  /** Removes and returns the next event, advancing `now` to its time. */
  pop(): T | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    this.now = top.time;
    return top.event;
  }

  peekTime(): number | undefined {
    return this.heap[0]?.time;
  }

  size(): number {
    return this.heap.length;
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a]!;
    const y = this.heap[b]!;
    return x.time < y.time || (x.time === y.time && x.seq < y.seq);
  }

  private push(item: { time: number; seq: number; event: T }): void {
    this.heap.push(item);
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    const t = this.heap[a]!;
    this.heap[a] = this.heap[b]!;
    this.heap[b] = t;
  }
}
