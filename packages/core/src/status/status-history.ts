/**
 * The last minutes of a member's or proxy's activity, for the status page's charts: a bounded
 * ring of samples taken on a timer. Each sample holds cumulative counts (the page draws rates
 * from the differences), so a missed or late sample costs resolution, never correctness.
 */

/** One sample. `writes` and `reads` only grow (a restart starts them again at zero). */
export interface StatusSample {
  /** Wall-clock milliseconds. */
  readonly t: number;
  /** Writes so far: the store revision (one per write that changed it). */
  readonly writes: number;
  /** Reads answered so far. */
  readonly reads: number;
  /** How far behind this process is (see the snapshot's `lagUnit`). */
  readonly lag: number;
}

/** Samples every 5 s for the last 10 minutes. */
export const STATUS_SAMPLE_INTERVAL_MS = 5000;
export const STATUS_HISTORY_SAMPLES = 120;

export class StatusHistory {
  private readonly ring: StatusSample[] = [];
  private next = 0;

  constructor(private readonly capacity = STATUS_HISTORY_SAMPLES) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError('a status history holds at least two samples');
  }

  add(sample: StatusSample): void {
    if (this.ring.length < this.capacity) this.ring.push(sample);
    else this.ring[this.next] = sample;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first. */
  samples(): StatusSample[] {
    if (this.ring.length < this.capacity) return [...this.ring];
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}
