/**
 * Latency samples with bounded memory: up to `capacity` kept exactly, then reservoir sampling
 * (every sample equally likely to be kept), so percentiles stay unbiased on long runs. The
 * maximum is always exact.
 */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export class LatencyRecorder {
  private readonly samples: Float64Array;
  private kept = 0;
  private seen = 0;
  private maxValue = 0;

  constructor(
    private readonly capacity = 1_000_000,
    private readonly random: () => number = Math.random,
  ) {
    this.samples = new Float64Array(capacity);
  }

  get count(): number {
    return this.seen;
  }

  record(ms: number): void {
    this.seen += 1;
    if (ms > this.maxValue) this.maxValue = ms;
    if (this.kept < this.capacity) {
      this.samples[this.kept++] = ms;
      return;
    }
    const slot = Math.floor(this.random() * this.seen);
    if (slot < this.capacity) this.samples[slot] = ms;
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.kept).sort();
    const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    return { count: this.seen, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: this.maxValue };
  }
}
