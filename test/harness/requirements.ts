import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { findPython } from './python.js';

/** Install commands for the tools the compatibility suites use (Debian 12 packages). */
export const INSTALL_HINTS = {
  etcd: 'apt-get install -y etcd-server',
  etcdctl: 'apt-get install -y etcd-client',
  pythonEtcd3: 'apt-get install -y python3-etcd3',
  chromium: 'apt-get install -y chromium',
} as const;

const reported = new Set<string>();

/** True when CI runs us (`CI=true`): a missing tool is then a failure, never a skip. */
export function inCI(): boolean {
  return process.env.CI === 'true';
}

/** The absolute path of executable `name` on PATH (or `name` itself if absolute), if any. */
export function whichBinary(name: string): string | undefined {
  const candidates = isAbsolute(name)
    ? [name]
    : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function missing(what: string, installHint: string): false {
  const message = `${what} is not installed; install it with: ${installHint}`;
  if (inCI()) {
    // Thrown while the suite is collected: the whole file fails instead of quietly skipping.
    throw new Error(`CI=true and ${message}`);
  }
  if (!reported.has(what)) {
    reported.add(what);
    console.warn(`[compat] skipping the tests that need it: ${message}`);
  }
  return false;
}

/**
 * Whether system binary `name` is on PATH, for `describe.skipIf(!requireBinary(...))`. Locally
 * a missing binary returns false and prints the install command once; under CI=true it throws,
 * so the suite fails rather than skips.
 */
export function requireBinary(name: string, installHint: string): boolean {
  return whichBinary(name) !== undefined || missing(`the '${name}' binary`, installHint);
}

/** Like requireBinary, for a python module importable by some python3 (see findPython). */
export function requirePythonModule(module: string, installHint: string): boolean {
  return findPython(module) !== undefined || missing(`the python module '${module}'`, installHint);
}
