import { reproduceCommand, runSimulation, type SimOptions, type SimResult } from './simulation.js';

export interface BatchOutcome {
  runs: number;
  failures: { seed: number; message: string; reproduce: string }[];
  /** The shortest run, in simulated ticks. */
  minElapsedTicks: number;
}

/** Runs seeds [first, first + count) and collects every failure with its reproduce command. */
export function runBatch(first: number, count: number, options: SimOptions = {}): BatchOutcome {
  const out: BatchOutcome = { runs: 0, failures: [], minElapsedTicks: Number.MAX_SAFE_INTEGER };
  for (let seed = first; seed < first + count; seed++) {
    const r = runSimulation(seed, options);
    out.runs++;
    out.minElapsedTicks = Math.min(out.minElapsedTicks, r.stats.elapsedTicks);
    if (!r.ok) out.failures.push({ seed, message: r.violation.message, reproduce: reproduceCommand(seed, options) });
  }
  return out;
}

/** The first seed in [first, first + limit) whose run fails, or undefined. */
export function firstFailure(first: number, limit: number, options: SimOptions): Extract<SimResult, { ok: false }> | undefined {
  for (let seed = first; seed < first + limit; seed++) {
    const r = runSimulation(seed, options);
    if (!r.ok) return r;
  }
  return undefined;
}

export function describeFailures(b: BatchOutcome): string {
  return b.failures.map((f) => `seed ${f.seed}: ${f.message}\n  reproduce: ${f.reproduce}`).join('\n');
}
