/**
 * Simulated time for whole-member simulation: the env Clock of packages/server/src/env over the
 * simulator's event queue. Each member gets its own SimClock on the shared queue, so that:
 *
 * - its timers die with it (`kill`, on a crash): a dead process runs nothing;
 * - its wall clock can jump (`jump`), as NTP steps a real one, while monotonic time cannot.
 *
 * The simulator runs one event at a time and lets the promises it started settle before the
 * next, so a run is a pure function of the seed.
 */
import type { env } from '@kvfleet/server';
import type { EventQueue } from '../event-queue.js';

/** An event of the member simulation: a callback at a time. */
export type SimEvent = () => void;

/** Where simulated wall-clock time starts (any fixed instant; deadlines only compare it). */
const EPOCH_MS = Date.UTC(2026, 0, 1);

export class SimClock implements env.Clock {
  private wallOffset = 0;
  private alive = true;
  private readonly live = new Set<{ cancelled: boolean }>();

  constructor(private readonly queue: EventQueue<SimEvent>) {}

  now(): number {
    return EPOCH_MS + this.queue.now + this.wallOffset;
  }

  monotonic(): number {
    return this.queue.now;
  }

  setTimeout(fn: () => void, ms: number): env.Timer {
    return this.schedule(fn, timerDelay(ms), false);
  }

  setInterval(fn: () => void, ms: number): env.Timer {
    return this.schedule(fn, timerDelay(ms), true);
  }

  /** setImmediate: at the same instant, after the events already due. */
  soon(fn: () => void): void {
    this.schedule(fn, 0, false);
  }

  /** Steps the wall clock by `ms` (either way); monotonic time and timers are unaffected. */
  jump(ms: number): void {
    this.wallOffset += ms;
  }

  /** The process died: none of its timers fire again, and it can set no new ones. */
  kill(): void {
    this.alive = false;
    for (const t of this.live) t.cancelled = true;
    this.live.clear();
  }

  /** Whether the process this clock belongs to died. */
  get dead(): boolean {
    return !this.alive;
  }

  /** Timers waiting to fire (a leak check: a stopped member leaves none). */
  get pending(): number {
    return this.live.size;
  }

  private schedule(fn: () => void, delay: number, repeat: boolean): env.Timer {
    const state = { cancelled: !this.alive };
    const fire = (): void => {
      if (state.cancelled) return;
      if (repeat) this.queue.schedule(delay, fire);
      else this.live.delete(state);
      fn();
    };
    if (this.alive) {
      this.live.add(state);
      this.queue.schedule(delay, fire);
    }
    return {
      cancel: () => {
        state.cancelled = true;
        this.live.delete(state);
      },
    };
  }
}

/** Node fires a timer of less than 1 ms after 1 ms; so does this clock, so intervals advance time. */
function timerDelay(ms: number): number {
  return Math.max(1, Math.ceil(ms));
}
