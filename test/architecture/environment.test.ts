/**
 * A member takes time, randomness, files, its network and its process from its environment
 * (packages/server/src/env/), so the simulator can run it on simulated time, seeded randomness,
 * a simulated disk and network: no server file the simulator runs reads the clock, sets a
 * timer, draws random numbers, touches node:fs, makes a gRPC client or server, opens LMDB or
 * its backend, or ends the process itself. See docs/architecture.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../packages/server/src/', import.meta.url));

/**
 * The environment itself and what implements it for real processes only: the gRPC peer
 * transport, LMDB and the backend factory (and the backend barrel that exports them); and the process shell the simulator does not run, the client-facing
 * listeners (embed/ assembles them, http/ serves health, metrics and the gateway over HTTP).
 */
const OUTSIDE_SIMULATION = ['env/', 'transport/', 'backend/lmdb-backend.ts', 'backend/open-backend.ts', 'backend/index.ts', 'embed/', 'http/'];

const FORBIDDEN: readonly [string, RegExp][] = [
  ['Date.now', /\bDate\.now\b/],
  ['performance.now', /\bperformance\.now\b/],
  ['a global timer', /(?<![.\w])(setTimeout|setInterval|setImmediate|clearTimeout|clearInterval|clearImmediate)\s*\(/],
  ['Math.random', /\bMath\.random\b/],
  ['node:crypto randomness', /\b(randomInt|randomBytes|randomUUID|randomFill|getRandomValues)\b/],
  ['node:perf_hooks', /['"]node:perf_hooks['"]/],
  ['node:fs', /(from|import|require\()\s*['"](node:)?fs(\/promises)?['"]/],
  ['a gRPC client or server', /\b(createClient|makeGenericClientConstructor|createInsecure|ServerCredentials)\b|new grpc\.(Server|Client)\b/],
  ['lmdb', /from ['"]lmdb['"]/],
  ['a backend opened itself', /['"][^'"]*\/(open-backend|lmdb-backend)\.js['"]/],
  ['the process', /(?<![.\w])process\.(exit|kill|abort)\b/],
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
  it('no server file the simulator runs uses the clock, timers, randomness, files, gRPC, LMDB or the process itself', () => {
    const found: string[] = [];
    for (const path of files(src)) {
      const file = relative(src, path).split('\\').join('/');
      if (OUTSIDE_SIMULATION.some((p) => file === p || (p.endsWith('/') && file.startsWith(p)))) continue;
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
    expect(violations("type E = Pick<MemberEnv, 'fs'>;")).toEqual([]);
    expect(violations("const c = proto.createClient('Lease', host);")).toEqual(['a gRPC client or server']);
    expect(violations("import { open } from 'lmdb'; process.exit(1);")).toEqual(['lmdb', 'the process']);
    expect(violations("import { openBackend } from '../backend/open-backend.js';")).toEqual(['a backend opened itself']);
    expect(violations('env.clock.setTimeout(fn, 5); // setTimeout(x)\n/* Date.now() */')).toEqual([]);
  });
});
