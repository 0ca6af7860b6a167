/**
 * Running a whole-member simulation's event queue from async code: every promise an event
 * started settles before the next event runs (no real I/O runs in a simulated member, so a few
 * turns of the microtask and immediate queues suffice).
 */
import type { EventQueue } from '../event-queue.js';
import type { SimEvent } from './sim-clock.js';

/** Lets every promise the last event started settle. */
async function settle(queue: EventQueue<SimEvent>): Promise<void> {
  for (let i = 0; i < 3 && queue.size() === 0; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
}

/** Runs the next event due by `end`; false when none is. */
async function step(queue: EventQueue<SimEvent>, end: number): Promise<boolean> {
  await settle(queue);
  if ((queue.peekTime() ?? Infinity) > end) return false;
  queue.pop()!();
  return true;
}

/** Runs every event of the next `ms` of simulated time, calling `each` before each one. */
export async function runFor(queue: EventQueue<SimEvent>, ms: number, each?: () => void): Promise<void> {
  const end = queue.now + ms;
  do each?.();
  while (await step(queue, end));
  queue.now = end;
}

/** Runs events until `done()`; fails, naming `what` (and `state()`), after `limitMs` of simulated time. */
export async function runUntil(queue: EventQueue<SimEvent>, done: () => boolean, limitMs: number, what: string, state?: () => string): Promise<void> {
  const end = queue.now + limitMs;
  if (process.env.SIM_LOG !== undefined) process.stderr.write(`${String(queue.now).padStart(6)} sim waiting for ${what}\n`);
  while (!done()) {
    if (!(await step(queue, end))) throw new Error(`${what}: not within ${limitMs} ms of simulated time${state === undefined ? '' : ` (${state()})`}`);
  }
}


/** Runs events until `work` settles and returns its result (or throws its error); fails like runUntil after `limitMs`. */
export async function simulate<T>(queue: EventQueue<SimEvent>, work: Promise<T>, limitMs: number, what: string, state?: () => string): Promise<T> {
  let settled: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  work.then(
    (value) => (settled = { ok: true, value }),
    (error: unknown) => (settled = { ok: false, error }),
  );
  await runUntil(queue, () => settled !== undefined, limitMs, what, state);
  const s = settled!;
  if (!s.ok) throw s.error;
  return s.value;
}
