/**
 * Where `kvfleet/raft.proto` lives on disk. It ships in @kvfleet/core (`proto/`), next to that
 * package's `dist/`. This module runs from `src/transport` under the test runner and from
 * `dist/transport` in production, so no fixed relative path fits both, and a bundled or
 * installed layout fits neither: ask Node where @kvfleet/core is first, then search upwards.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';

const RELATIVE = join('proto', 'kvfleet', 'raft.proto');

function viaPackage(): string | undefined {
  try {
    // The package's entry is `<core>/dist/index.js`; the proto folder is its sibling.
    const entry = createRequire(import.meta.url).resolve('@kvfleet/core');
    const candidate = join(dirname(entry), '..', RELATIVE);
    return existsSync(candidate) ? candidate : undefined;
  } catch {
    return undefined; // not installed as a package here (or its dist not built yet)
  }
}

function viaAncestors(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  const root = parse(dir).root;
  for (;;) {
    for (const candidate of [join(dir, 'core', RELATIVE), join(dir, 'packages', 'core', RELATIVE)]) {
      if (existsSync(candidate)) return candidate;
    }
    if (dir === root) return undefined;
    dir = dirname(dir);
  }
}

/** Absolute path of raft.proto; throws with the places searched if it cannot be found. */
export function raftProtoPath(): string {
  const found = viaPackage() ?? viaAncestors();
  if (found === undefined) {
    throw new Error(
      `kvfleet: cannot find ${RELATIVE} (looked in @kvfleet/core and above ${fileURLToPath(import.meta.url)})`,
    );
  }
  return found;
}
