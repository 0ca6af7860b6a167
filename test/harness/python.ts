import { spawnSync } from 'node:child_process';
import { runCommand } from './command.js';

/** A python interpreter that can import a module, and the environment it needs for that. */
export interface PythonRuntime {
  executable: string;
  env: Record<string, string>;
}

const found = new Map<string, PythonRuntime | undefined>();

/**
 * Finds a python3 that can `import module`. Tries $KVFLEET_PYTHON, then `python3` on PATH,
 * then the system's /usr/bin/python3 (Debian's python3-etcd3 lives there, and a pyenv or venv
 * python3 earlier on PATH does not see it). Each is tried as is and then with
 * PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python, which generated code from an older protoc
 * needs under a newer protobuf ("Descriptors cannot be created directly").
 */
export function findPython(module: string): PythonRuntime | undefined {
  if (found.has(module)) return found.get(module);
  const executables = [process.env.KVFLEET_PYTHON, 'python3', '/usr/bin/python3'].filter(
    (e): e is string => typeof e === 'string' && e.length > 0,
  );
  const envs: Record<string, string>[] = [{}, { PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION: 'python' }];
  let result: PythonRuntime | undefined;
  search: for (const executable of executables) {
    for (const env of envs) {
      const probe = spawnSync(executable, ['-c', `import ${module}`], {
        env: { ...process.env, ...env },
        stdio: 'ignore',
        timeout: 20_000,
      });
      if (probe.status === 0) {
        result = { executable, env };
        break search;
      }
    }
  }
  found.set(module, result);
  return result;
}

/**
 * Runs python script `scriptPath` with `args` under the python that has `module`, and parses
 * the last non-empty line of its stdout as JSON. Rejects with the script's stderr on a
 * non-zero exit or a timeout.
 */
export async function runPythonJson<T = unknown>(
  module: string,
  scriptPath: string,
  args: string[],
  timeoutMs = 20_000,
): Promise<T> {
  const python = findPython(module);
  if (python === undefined) throw new Error(`no python3 can import ${module}`);
  const result = await runCommand(python.executable, [scriptPath, ...args], {
    env: { ...process.env, PYTHONUNBUFFERED: '1', ...python.env },
    timeoutMs,
  });
  if (result.code !== 0) {
    throw new Error(`${scriptPath} exited with ${result.code ?? result.signal}\n--- stderr\n${result.stderr}\n--- stdout\n${result.stdout}`);
  }
  const lines = result.stdout.split('\n').filter((l) => l.trim() !== '');
  const last = lines.at(-1);
  if (last === undefined) throw new Error(`${scriptPath} printed nothing\n--- stderr\n${result.stderr}`);
  return JSON.parse(last) as T;
}
