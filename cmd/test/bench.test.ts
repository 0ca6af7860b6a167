import { describe, expect, it } from 'vitest';
import { benchCommand } from '../src/bench-command.js';
import { LatencyRecorder } from '../src/bench/latency-recorder.js';

describe('kvfleet bench', () => {
  it('latency percentiles from exact samples; the maximum stays exact past the reservoir', () => {
    const r = new LatencyRecorder(1_000, () => 0.999_999);
    for (let i = 1; i <= 100; i++) r.record(i);
    expect(r.summary()).toEqual({ count: 100, p50: 51, p90: 91, p99: 100, max: 100 });
    for (let i = 0; i < 10_000; i++) r.record(1);
    r.record(5_000);
    const s = r.summary();
    expect(s.count).toBe(10_101);
    expect(s.max).toBe(5_000);
  });

  it('refuses an unknown workload or a bad number with the usage and exit code 2', async () => {
    const chunks: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((c: string) => (chunks.push(String(c)), true)) as typeof process.stderr.write;
    try {
      expect(await benchCommand(['nope'])).toBe(2);
      expect(await benchCommand(['put', '--clients', '0'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(chunks.join('')).toContain('the workload must be one of put, range, txn, mixed, load, watch');
    expect(chunks.join('')).toContain('--clients: "0" must be a number >= 1');
  });
});
