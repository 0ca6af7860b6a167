/** One measured workload against one system, as compare.ts records it. */

/** What `kvfleet bench --json` prints. */
export interface BenchJson {
  ops: number;
  errors: number;
  errorSamples: Record<string, number>;
  throughput: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  deliveries?: number;
  deliveriesPerSecond?: number;
  missedDeliveries?: number;
}

export interface Row {
  readonly workload: string;
  readonly system: string;
  readonly result: BenchJson;
  /** Server CPU microseconds per operation (or per delivery for watch). */
  readonly cpuPerOp: number;
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
  /** Watch: growth of the servers' resident memory per watcher created. */
  readonly bytesPerWatcher?: number;
  /** Proxy reads: requests the proxy sent the members (revision checks + forwarded reads) per 1,000 reads. */
  readonly upstreamPer1000?: number;
  /** With --rounds: the round it was measured in (rows of one round), or how many its medians cover. */
  readonly round?: number;
  readonly rounds?: number;
}
