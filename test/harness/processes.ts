import type { ChildProcess } from 'node:child_process';

/**
 * Every child process the harness starts is registered here until it exits, so none outlives
 * the test worker: on the worker's exit (normal, or SIGINT/SIGTERM/SIGHUP) the survivors are
 * sent SIGKILL. Suites still stop their clusters in afterAll; this is the safety net for a
 * failing or interrupted run.
 */
const live = new Set<ChildProcess>();
let installed = false;

function killSurvivors(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killSurvivors);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killSurvivors();
      process.removeListener(signal, onSignal);
      // Re-raise so the worker still ends the way the signal asked it to.
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Tracks `child` until it exits; returns it for chaining. */
export function track<T extends ChildProcess>(child: T): T {
  install();
  if (child.exitCode === null && child.signalCode === null) {
    live.add(child);
    child.once('exit', () => live.delete(child));
  }
  return child;
}

/** Resolves when `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Sends `signal` and waits for the exit; after `graceMs` without one, sends SIGKILL and waits
 * again. Resolves once the process is gone.
 */
export async function terminate(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill(signal);
  if (signal === 'SIGKILL') return done;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const outcome = await Promise.race([done.then(() => 'exited' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    await done;
  }
}

/** The environment for a child: this one without variables that would reconfigure etcd or etcdctl. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('ETCD_') || key.startsWith('ETCDCTL_')) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}
