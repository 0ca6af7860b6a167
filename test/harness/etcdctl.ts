import { runCommand, type CommandResult } from './command.js';
import { cleanEnv } from './processes.js';
import { startStreaming, type StreamingProcess } from './streaming-process.js';

/** The etcdctl binary: $KVFLEET_ETCDCTL if set, else `etcdctl` on PATH. */
export function etcdctlBinary(): string {
  return process.env.KVFLEET_ETCDCTL ?? 'etcdctl';
}

function baseArgs(endpoints: readonly string[]): string[] {
  return [`--endpoints=${endpoints.join(',')}`, '--dial-timeout=5s', '--command-timeout=10s'];
}

/** Runs `ETCDCTL_API=3 etcdctl --endpoints=... <args>` to completion (optional stdin). */
export function etcdctl(
  endpoints: readonly string[],
  args: string[],
  options: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return runCommand(etcdctlBinary(), [...baseArgs(endpoints), ...args], {
    env: cleanEnv({ ETCDCTL_API: '3' }),
    input: options.input,
    timeoutMs: options.timeoutMs ?? 30_000,
  });
}

/** Like etcdctl, but rejects unless the exit code is 0; resolves with stdout. */
export async function etcdctlOk(
  endpoints: readonly string[],
  args: string[],
  options: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<string> {
  const result = await etcdctl(endpoints, args, options);
  if (result.code !== 0) {
    throw new Error(`etcdctl ${args.join(' ')} exited with ${result.code ?? result.signal}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
  return result.stdout;
}

/** Starts a long-running etcdctl (watch, lease keep-alive) whose stdout is read line by line. */
export function startEtcdctl(endpoints: readonly string[], args: string[]): StreamingProcess {
  return startStreaming(etcdctlBinary(), [...baseArgs(endpoints), ...args], cleanEnv({ ETCDCTL_API: '3' }));
}

/**
 * The `Error: ...` line etcdctl printed on stderr (etcdctl 3.4 also logs JSON "retrying of
 * unary invoker failed" warnings there, which are dropped), or undefined.
 */
export function etcdctlError(stderr: string): string | undefined {
  return stderr
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line.startsWith('Error:'));
}
