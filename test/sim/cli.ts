import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { reproduceCommand, runSimulation, type SimOptions, type SimResult } from './simulation.js';
import { SIM_PROFILES } from './swarm.js';
import { MEMBER_BUGS, type MemberBug, runMemberSwarm } from './member/member-swarm.js';

const USAGE = `npm run sim -- [options]

  --runs N            run N seeds starting at --first-seed (default 1000)
  --first-seed S      first seed of a batch (default: random)
  --seed S            replay one seed and print its trace on failure
  --cluster-size N    force the founding cluster size (1, 3, 5, 7, ...)
  --chaos-ticks N     force the length of the fault phase
  --profile NAME      swarm (default: every run a different mix) | stormy (leader churn) |
                      churn (membership changes, transfers and crashes turned up)
  --bug NAME          switch on a deliberate bug: commit-older-term | vote-twice | send-before-persist;
                      with --members: consistent-index-apart | unsynced-wal | skip-lease-revoke |
                      watch-skips-compacted
  --trace             print the event trace of a --seed run even when it passes
  --trace-messages    include every delivered message in the trace
  --members           whole members instead of the Raft core alone (three real members on a
                      simulated clock, disk, backend and network; with --runs, --first-seed, --seed;
                      --seed N --trace prints every request, watch response and the end state)
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      'first-seed': { type: 'string' },
      seed: { type: 'string' },
      'cluster-size': { type: 'string' },
      'chaos-ticks': { type: 'string' },
      profile: { type: 'string' },
      bug: { type: 'string', multiple: true },
      trace: { type: 'boolean' },
      'trace-messages': { type: 'boolean' },
      members: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.members === true) return members(values.seed, values.runs, values['first-seed'], values.trace === true, memberBugs(values.bug ?? []));
  const options: SimOptions = {};
  if (values['cluster-size'] !== undefined) options.clusterSize = int(values['cluster-size']);
  if (values['chaos-ticks'] !== undefined) options.chaosTicks = int(values['chaos-ticks']);
  if (values.profile !== undefined) {
    const profile = SIM_PROFILES.find((p) => p === values.profile);
    if (profile === undefined) throw new Error(`unknown profile ${values.profile} (${SIM_PROFILES.join(', ')})`);
    options.profile = profile;
  }
  for (const bug of values.bug ?? []) {
    if (bug === 'commit-older-term') options.testingBugs = { ...options.testingBugs, commitOlderTermByCount: true };
    else if (bug === 'vote-twice') options.testingBugs = { ...options.testingBugs, voteTwiceInTerm: true };
    else if (bug === 'send-before-persist') options.simBugs = { sendBeforePersist: true };
    else throw new Error(`unknown bug ${bug}`);
  }

  if (values.seed !== undefined) {
    const result = runSimulation(int(values.seed), { ...options, trace: true, traceMessages: values['trace-messages'] === true });
    report(result, options);
    if (!result.ok || values.trace === true) for (const line of result.trace) process.stdout.write(`${line}\n`);
    return result.ok ? 0 : 1;
  }

  const runs = values.runs === undefined ? 1000 : int(values.runs);
  const first = values['first-seed'] === undefined ? Math.floor(Math.random() * 2 ** 31) : int(values['first-seed']);
  const started = Date.now();
  let failed = 0;
  for (let i = 0; i < runs; i++) {
    const seed = first + i;
    const result = runSimulation(seed, options);
    if (!result.ok) {
      failed++;
      report(result, options);
      saveFailure(result, options);
    }
    if ((i + 1) % 1000 === 0) {
      process.stdout.write(`${i + 1}/${runs} runs, ${failed} failed, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    }
  }
  process.stdout.write(`seeds ${first}..${first + runs - 1}: ${runs - failed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

/** Whole-member seeds: one (`--seed`) or a batch. */
function memberBugs(names: readonly string[]): MemberBug[] {
  for (const n of names) if (!(n in MEMBER_BUGS)) throw new Error(`unknown member bug ${n} (${Object.keys(MEMBER_BUGS).join(' | ')})`);
  return names as MemberBug[];
}

async function members(seed: string | undefined, runsFlag: string | undefined, firstFlag: string | undefined, trace: boolean, bugs: readonly MemberBug[]): Promise<number> {
  const runs = seed !== undefined ? 1 : runsFlag === undefined ? 100 : int(runsFlag);
  const first = seed !== undefined ? int(seed) : firstFlag === undefined ? Math.floor(Math.random() * 2 ** 31) : int(firstFlag);
  const started = Date.now();
  let failed = 0;
  for (let i = 0; i < runs; i++) {
    const r = await runMemberSwarm(first + i, { bugs, ...(seed !== undefined && trace ? { trace: (line: string) => void process.stdout.write(`${line}\n`) } : {}) });
    if (!r.ok) {
      failed++;
      process.stdout.write(`seed ${r.seed} FAILED (members)\n  ${r.violation}\n  reproduce: npm run sim -- --members --seed ${r.seed}\n`);
    } else if (seed !== undefined) {
      process.stdout.write(`seed ${r.seed} passed (members) ${JSON.stringify(r.stats)}\n`);
    }
    if ((i + 1) % 100 === 0) process.stdout.write(`${i + 1}/${runs} runs, ${failed} failed, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
  if (seed === undefined) process.stdout.write(`member seeds ${first}..${first + runs - 1}: ${runs - failed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

function report(result: SimResult, options: SimOptions): void {
  const p = result.params;
  const shape = `size=${p.clusterSize} prevote=${p.preVote} checkquorum=${p.checkQuorum} drop=${p.network.dropRate} crash=${p.crashRate} partition=${p.partitionRate} membership=${p.membershipRate}`;
  if (result.ok) {
    process.stdout.write(`seed ${result.seed} passed (${shape}) ${JSON.stringify(result.stats)}\n`);
  } else {
    process.stdout.write(`seed ${result.seed} FAILED (${shape})\n  ${result.violation.message}\n  reproduce: ${reproduceCommand(result.seed, options)}\n`);
  }
}

function saveFailure(result: SimResult, options: SimOptions): void {
  if (result.ok) return;
  mkdirSync('sim-failures', { recursive: true });
  const file = `sim-failures/seed-${result.seed}.txt`;
  writeFileSync(file, `${result.violation.message}\nreproduce: ${reproduceCommand(result.seed, options)}\nparams: ${JSON.stringify(result.params)}\n`);
}

function int(s: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${s}`);
  return n;
}

process.exitCode = await main();
