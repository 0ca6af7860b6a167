/**
 * A member takes time, randomness and files from its environment (packages/server/src/env/), so
 * the simulator can run it on simulated time, seeded randomness and a simulated disk: no other
 * server file reads the clock, sets a timer, draws random numbers or touches node:fs itself.
 * See docs/architecture.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../packages/server/src/', import.meta.url));

/** The environment itself, and what implements it for real processes only. */
const REAL_ENVIRONMENT = ['env/', 'backend/lmdb-backend.ts'];
/**
 * Issue 17 injects these next (the peer transport, the join-time member list fetch); the list
 * must end empty.
 */
const NOT_YET_INJECTED = ['transport/', 'etcdserver/remote-cluster.ts'];

const FORBIDDEN: readonly [string, RegExp][] = [
  ['Date.now', /\bDate\.now\b/],
  ['performance.now', /\bperformance\.now\b/],
  ['a global timer', /(?<![.\w])(setTimeout|setInterval|setImmediate|clearTimeout|clearInterval|clearImmediate)\s*\(/],
  ['Math.random', /\bMath\.random\b/],
  ['node:crypto randomness', /\b(randomInt|randomBytes|randomUUID|randomFill|getRandomValues)\b/],
  ['node:perf_hooks', /['"]node:perf_hooks['"]/],
  ['node:fs', /['"](node:)?fs(\/promises)?['"]/],
];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** The code without comments (a `//` inside a string cuts the rest of its line: conservative enough here). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

export function violations(text: string): string[] {
  const body = code(text);
  return FORBIDDEN.filter(([, re]) => re.test(body)).map(([what]) => what);
}

describe('the member environment', () => {
  it('no server file but the environment reads the clock, sets a timer, draws randomness or uses node:fs itself', () => {
    const found: string[] = [];
    for (const path of files(src)) {
      const file = relative(src, path).split('\\').join('/');
      const listed = (list: readonly string[]): boolean => list.some((p) => file === p || (p.endsWith('/') && file.startsWith(p)));
      if (listed(REAL_ENVIRONMENT) || listed(NOT_YET_INJECTED)) continue;
      for (const v of violations(readFileSync(path, 'utf8'))) found.push(`${file}: ${v}`);
    }
    expect(found).toEqual([]);
  });

  it('the check finds each forbidden use, and not a use through the clock', () => {
    expect(violations('const t = Date.now();')).toEqual(['Date.now']);
    expect(violations('setTimeout(() => 1, 5);')).toEqual(['a global timer']);
    expect(violations("import { randomInt } from 'node:crypto';")).toEqual(['node:crypto randomness']);
    expect(violations('x = Math.random() + performance.now();')).toEqual(['performance.now', 'Math.random']);
    expect(violations("import { open } from 'node:fs/promises';")).toEqual(['node:fs']);
    expect(violations('env.clock.setTimeout(fn, 5); // setTimeout(x)\n/* Date.now() */')).toEqual([]);
  });
});
