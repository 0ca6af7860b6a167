/**
 * Time as a member sees it: read and scheduled through this seam only, so the simulator can run
 * a whole member on simulated time (see docs/simulation.md).
 */

/** A scheduled callback; `cancel` is idempotent. */
export interface Timer {
  cancel(): void;
}

export interface TimerOptions {
  /** The timer does not keep the process alive (background sampling). */
  readonly unref?: boolean;
}

export interface Clock {
  /** Wall-clock milliseconds since the epoch: gRPC deadlines, published member times. */
  now(): number;
  /** Monotonic milliseconds: durations, lease expiry, timeouts measured here. */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number, options?: TimerOptions): Timer;
  setInterval(fn: () => void, ms: number, options?: TimerOptions): Timer;
  /** Runs `fn` once the current I/O callbacks are done (setImmediate). */
  soon(fn: () => void): void;
}

/** Resolves after `ms` on `clock`, or at once when `signal` aborts (the timer is cancelled then). */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      timer.cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Rejects with `onTimeout()` unless `promise` settles within `ms` on `clock`. */
export function withTimeout<T>(clock: Clock, promise: Promise<T>, ms: number, onTimeout: () => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (v) => {
        timer.cancel();
        resolve(v);
      },
      (e: unknown) => {
        timer.cancel();
        reject(e);
      },
    );
  });
}
