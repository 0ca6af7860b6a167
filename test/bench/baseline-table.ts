/**
 * `npm run bench -- --baseline REV`: this checkout's rows against REV's, and with --rounds the
 * medians over rounds (each round's own ratio kept, to show the noise the medians smooth).
 */
import type { Row } from './bench-row.js';

/** This checkout against the --baseline build, row by row, for the workloads both ran in this run. */
export function baselineTable(rows: readonly Row[], baseline: string, roundRows: readonly Row[] = []): string {
  const perRound = roundRows.length > 0;
  const lines = [
    `| workload | target | ops/s (deliveries/s) | at ${baseline} | ratio |${perRound ? ' ratio per round |' : ''} server CPU µs per op (delivery) | at ${baseline} | ratio |${perRound ? ' ratio per round |' : ''}`,
    `|---|---|---:|---:|---:|${perRound ? '---|' : ''}---:|---:|---:|${perRound ? '---|' : ''}`,
  ];
  const rate = (x: Row) => x.result.deliveriesPerSecond ?? x.result.throughput;
  const partner = (set: readonly Row[], r: Row, target: string) => set.find((x) => x.workload === r.workload && x.system === `kvfleet@${baseline} ${target}` && x.round === r.round);
  for (const r of rows) {
    if (!r.system.startsWith('kvfleet ')) continue;
    const target = r.system.slice('kvfleet '.length);
    const b = partner(rows, r, target);
    if (b === undefined) continue;
    // Each round's own pair: how far apart the rounds are shows the noise the medians smooth.
    const pairs = roundRows.filter((x) => x.workload === r.workload && x.system === r.system).map((x) => [x, partner(roundRows, x, target)] as const);
    const each = (f: (x: Row) => number) => ` ${pairs.map(([x, y]) => (y === undefined ? '?' : (f(x) / f(y)).toFixed(2))).join(', ')} |`;
    lines.push(
      `| ${r.workload} | ${target} | ${rate(r).toFixed(0)} | ${rate(b).toFixed(0)} | ${(rate(r) / rate(b)).toFixed(3)}× |${perRound ? each(rate) : ''} ${r.cpuPerOp.toFixed(0)} | ${b.cpuPerOp.toFixed(0)} | ${(r.cpuPerOp / b.cpuPerOp).toFixed(3)}× |${perRound ? each((x) => x.cpuPerOp) : ''}`,
    );
  }
  return lines.join('\n');
}

/** One row per workload and system: the round with the median throughput, and the median CPU per op. */
export function medians(roundRows: readonly Row[]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const r of roundRows) {
    const key = `${r.workload}\u0000${r.system}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const mid = <T>(xs: T[]): T => xs[Math.floor((xs.length - 1) / 2)]!;
  return [...groups.values()].map((group) => {
    const byRate = [...group].sort((a, b) => (a.result.deliveriesPerSecond ?? a.result.throughput) - (b.result.deliveriesPerSecond ?? b.result.throughput));
    const { round: _round, ...median } = mid(byRate);
    return { ...median, cpuPerOp: mid(group.map((r) => r.cpuPerOp).sort((a, b) => a - b)), rounds: group.length };
  });
}
