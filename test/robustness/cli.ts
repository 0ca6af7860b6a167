/**
 * `npm run robustness -- [--profile ci|long] [--duration 2h] [--scenario NAME --seed N]`
 * Runs scenarios and prints one line each; `long` runs scenarios back to back with fresh seeds
 * until the duration is spent and writes the summary table to test/robustness/REPORT.md.
 * Exits non-zero if any scenario found a violation (its history's path is printed).
 */
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../harness/cluster.js';
import { CI_SCENARIOS, LONG_SCENARIOS, scenarioNamed } from './profiles.js';
import { runScenario, type Scenario, type ScenarioResult } from './scenario.js';

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) throw new Error(`--duration: "${text}" is not a duration like 90s, 30m or 2h`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

function line(r: ScenarioResult): string {
  const verdict = r.passed ? 'ok' : 'VIOLATION';
  const ops = `${r.operations.ok} ok / ${r.operations.failed} failed / ${r.operations.unknown} unknown`;
  const extra = r.passed ? '' : ` — linearizability ${r.linearizability.status}; ${r.watchViolations.length} watch violations; ${r.consistencyProblems.length} consistency problems; history in ${r.artifacts}; reproduce: ${r.reproduce}`;
  return `${verdict} ${r.scenario} seed ${r.seed}: ${ops}, ${r.eventsSeen} events, ${r.watches} watches, faults: ${r.faults.join('; ') || 'none'} (${(r.durationMs / 1000).toFixed(1)} s)${extra}`;
}

function report(results: readonly ScenarioResult[], command: string, wallMs: number): string {
  const rows = results.map((r) => {
    const ops = r.operations.ok + r.operations.failed + r.operations.unknown;
    return `| ${r.scenario} | ${r.seed} | ${r.faults.join('; ') || 'none'} | ${ops} (${r.operations.unknown} unknown) | ${r.eventsSeen} | ${r.watches} | ${r.passed ? 'ok' : `**violation** (${r.reproduce})`} |`;
  });
  const violations = results.filter((r) => !r.passed).length;
  return [
    '# Robustness report',
    '',
    `Command: \`${command}\``,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    `Wall time: ${(wallMs / 60_000).toFixed(1)} min; scenarios: ${results.length}; violations: ${violations}`,
    '',
    'Each scenario: a fresh 3-member kvfleet cluster (and proxies), randomized clients and watchers',
    'for the stated faults, then the linearizability check of every KV operation, the watch',
    'validator against a reference watch, HashKV equality across members, and each proxy cache',
    'against the members.',
    '',
    '| scenario | seed | faults | operations | events | watches | result |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', default: 'ci' },
      duration: { type: 'string' },
      scenario: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  const log = (m: string) => process.stdout.write(`${m}\n`);
  const results: ScenarioResult[] = [];
  const started = Date.now();
  const run = async (s: Scenario, seed: number) => {
    const r = await runScenario(s, seed, { log });
    results.push(r);
    log(line(r));
  };
  const freshSeed = () => (Date.now() ^ (process.pid << 8) ^ Math.floor(Math.random() * 2 ** 31)) >>> 0;

  if (values.scenario !== undefined) {
    const s = scenarioNamed(values.scenario);
    if (s === undefined) throw new Error(`no scenario named ${values.scenario}`);
    await run(s, values.seed === undefined ? freshSeed() : Number(values.seed) >>> 0);
  } else if (values.profile === 'ci') {
    for (const s of CI_SCENARIOS) await run(s, freshSeed());
  } else if (values.profile === 'long') {
    const budget = parseDuration(values.duration ?? '2h');
    for (let i = 0; Date.now() - started < budget; i++) await run(LONG_SCENARIOS[i % LONG_SCENARIOS.length]!, freshSeed());
    const command = `npm run robustness -- --profile long --duration ${values.duration ?? '2h'}`;
    const path = join(repoRoot(), 'test', 'robustness', 'REPORT.md');
    await writeFile(path, report(results, command, Date.now() - started));
    log(`summary written to ${path}`);
  } else {
    throw new Error(`--profile: "${values.profile}" is not ci or long`);
  }
  const failed = results.filter((r) => !r.passed).length;
  log(`robustness: ${results.length - failed} scenarios passed, ${failed} found violations`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`robustness: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(2);
  },
);
