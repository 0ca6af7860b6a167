import { spawn, type ChildProcess } from 'node:child_process';
import { terminate, track } from './processes.js';

/**
 * A long-running command whose stdout is collected line by line as it arrives (an
 * `etcdctl watch`, say): wait for lines, then stop it.
 */
export interface StreamingProcess {
  readonly child: ChildProcess;
  /** Complete stdout lines received so far (without the newline). */
  readonly lines: string[];
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the first `count` lines once they have arrived; rejects after `timeoutMs` or if the process exits first. */
  waitForLines(count: number, timeoutMs?: number): Promise<string[]>;
  /** Stops it (SIGTERM, then SIGKILL) and resolves with all stdout lines, a final unterminated one included. */
  stop(): Promise<string[]>;
}

export function startStreaming(executable: string, args: string[], env: NodeJS.ProcessEnv = process.env): StreamingProcess {
  const child = track(spawn(executable, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const lines: string[] = [];
  let partial = '';
  let errText = '';
  let exited = false;
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const waiter of waiters) waiter();
  };
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    notify();
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    errText += chunk;
  });
  child.once('error', (error) => {
    errText += `\nspawn error: ${error.message}`;
    exited = true;
    notify();
  });
  child.once('exit', () => {
    exited = true;
    notify();
  });

  const describe = (): string =>
    `${executable} ${args.join(' ')}\n--- stdout lines so far\n${lines.join('\n')}\n--- stderr\n${errText}`;

  return {
    child,
    lines,
    stderr: () => errText,
    waitForLines(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (lines.length >= count) {
            cleanup();
            resolve(lines.slice(0, count));
          } else if (exited) {
            cleanup();
            reject(new Error(`process exited before printing ${count} lines: ${describe()}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} lines: ${describe()}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      await terminate(child, 'SIGTERM', 3_000);
      if (partial !== '') {
        lines.push(partial);
        partial = '';
      }
      return [...lines];
    },
  };
}
