// `kvfleet bench` end to end against a one-member kvfleet cluster and a proxy in front of it:
// every workload runs to completion without errors, the bulk load writes every key, and the
// watch workloads deliver every write to every watcher of its prefix. Counts only, no timings
// (performance is measured by `npm run bench`, never asserted in a test).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../harness/cluster.js';
import { runCommand } from '../harness/command.js';
import { grpcTarget } from '../harness/probe.js';
import { memberClients, prefixEnd } from '../harness/kv-checks.js';
import { proto } from '@kvfleet/core';
import { useCluster } from '../harness/use-cluster.js';

interface BenchJson {
  ops: number;
  errors: number;
  errorSamples: Record<string, number>;
  deliveries?: number;
  missedDeliveries?: number;
}

async function bench(endpoint: string, args: string[]): Promise<{ result: BenchJson; stderr: string }> {
  const out = await runCommand(process.execPath, [join(repoRoot(), 'cmd', 'bin', 'kvfleet.js'), 'bench', ...args, '--endpoints', endpoint, '--json'], { timeoutMs: 60_000 });
  expect(out.code, out.stderr).toBe(0);
  return { result: JSON.parse(out.stdout.trim().split('\n').at(-1)!) as BenchJson, stderr: out.stderr };
}

describe('kvfleet bench against kvfleet', () => {
  const cluster = useCluster({ kind: 'kvfleet', size: 1, proxy: true });
  const member = () => grpcTarget(cluster().memberClientUrls[0]!);
  const proxy = () => grpcTarget(cluster().clientUrls[0]!);

  it('load writes every key of the key space once, in txns of --batch puts', async () => {
    const { result } = await bench(member(), ['load', '--key-space', '2345', '--batch', '100', '--val-size', '16', '--prefix', 'load/']);
    expect(result).toMatchObject({ ops: 2345, errors: 0 });
    const { kv } = memberClients(cluster().memberClientUrls[0]!);
    const count = await proto.unaryCall(kv.Range.bind(kv), { key: Buffer.from('load/'), rangeEnd: prefixEnd('load/'), countOnly: true });
    expect(Number(count.count)).toBe(2345);
  });

  it.each(['put', 'txn', 'range', 'mixed'])('%s runs --total operations without errors', async (workload) => {
    const { result } = await bench(proxy(), [workload, '--total', '300', '--clients', '10', '--key-space', '50', '--val-size', '32', '--prefix', `${workload}/`]);
    expect(result.errors, JSON.stringify(result.errorSamples)).toBe(0);
    expect(result.ops).toBeGreaterThanOrEqual(300);
  });

  it('watch on one prefix through the proxy: every write reaches every watcher', async () => {
    const { result, stderr } = await bench(proxy(), ['watch', '--watchers', '20', '--streams', '4', '--total', '200', '--rate', '400', '--val-size', '64', '--prefix', 'w1/']);
    expect(stderr).toContain('watchers-created');
    expect(result).toMatchObject({ ops: 200, errors: 0, deliveries: 200 * 20, missedDeliveries: 0 });
  });

  it('watch over many prefixes: each write reaches only its prefix\'s watchers', async () => {
    // 25 watchers on 10 prefixes: prefixes 0-4 have 3 watchers, 5-9 have 2; 100 writes cycle the prefixes.
    const { result } = await bench(member(), ['watch', '--watchers', '25', '--streams', '5', '--prefixes', '10', '--total', '100', '--rate', '400', '--val-size', '64', '--prefix', 'wm/']);
    expect(result).toMatchObject({ ops: 100, errors: 0, deliveries: 10 * (5 * 3 + 5 * 2), missedDeliveries: 0 });
  });
});
