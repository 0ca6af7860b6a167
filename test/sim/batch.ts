import { reproduceCommand, runSimulation, type SimOptions, type SimResult } from './simulation.js';

export interface BatchOutcome {
  runs: number;
  failures: { seed: number; message: string; reproduce: string }[];
  /** The shortest run, in simulated ticks. */
  minElapsedTicks: number;
}

/**
 * Runs seeds [first, first + count) and collects every failure with its reproduce command.
 * Yields to the event loop between runs so a test worker stays responsive to its runner.
 */
export async function runBatch(first: number, count: number, options: SimOptions = {}): Promise<BatchOutcome> {
  const out: BatchOutcome = { runs: 0, failures: [], minElapsedTicks: Number.MAX_SAFE_INTEGER };
  for (let seed = first; seed < first + count; seed++) {
    await yieldToEventLoop();
    const r = runSimulation(seed, options);
    out.runs++;
    out.minElapsedTicks = Math.min(out.minElapsedTicks, r.stats.elapsedTicks);
    if (!r.ok) out.failures.push({ seed, message: r.violation.message, reproduce: reproduceCommand(seed, options) });
  }
  return out;
}

/** The first seed in [first, first + limit) whose run fails, or undefined. */
export async function firstFailure(first: number, limit: number, options: SimOptions): Promise<Extract<SimResult, { ok: false }> | undefined> {
  for (let seed = first; seed < first + limit; seed++) {
    await yieldToEventLoop();
    const r = runSimulation(seed, options);
    if (!r.ok) return r;
  }
  return undefined;
}

export function describeFailures(b: BatchOutcome): string {
  return b.failures.map((f) => `seed ${f.seed}: ${f.message}\n  reproduce: ${f.reproduce}`).join('\n');
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
