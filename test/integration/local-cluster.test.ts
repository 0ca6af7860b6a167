// `kvfleet up` (npm start): three members and two proxies in one process tree, usable at once,
// stopped cleanly by Ctrl-C (SIGINT) with nothing left behind, and resumed from the same data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { proto } from '@kvfleet/core';
import { repoRoot } from '../harness/cluster.js';
import { track } from '../harness/processes.js';

// Room for the proxies' ports (base + 100, base + 200) below the second member's.
const STEP = 300;
const PROXY_PORTS = [100, 200];

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A base port whose members' client and peer ports and proxies' ports are all free right now. */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    const ports = [0, 1, 2].flatMap((i) => [base + i * STEP, base + i * STEP + 1]).concat(PROXY_PORTS.map((p) => base + p));
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free port range found');
}

function startUp(dataDir: string, basePort: number): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = track(
    spawn(process.execPath, [join(repoRoot(), 'cmd/bin/kvfleet.js'), 'up', `--data-dir=${dataDir}`, `--base-port=${String(basePort)}`, `--port-step=${String(STEP)}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exit };
}

async function waitFor(cond: () => boolean, what: string, output: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Puts through `port`, then reads back through `readPort` (default the same). */
async function putThenGet(port: number, key: string, value: string, readPort = port): Promise<string> {
  const kv = proto.createClient('KV', `127.0.0.1:${String(port)}`);
  const reader = readPort === port ? kv : proto.createClient('KV', `127.0.0.1:${String(readPort)}`);
  try {
    const deadline = () => ({ deadline: Date.now() + 5000 });
    for (let attempt = 0; ; attempt++) {
      try {
        await proto.unaryCall(kv.Put.bind(kv), { key: Buffer.from(key), value: Buffer.from(value) }, undefined, deadline());
        break;
      } catch (e) {
        // The members may still be electing a leader.
        if (attempt > 50) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await proto.unaryCall(reader.Range.bind(reader), { key: Buffer.from(key) }, undefined, deadline());
        return Buffer.from(res.kvs[0]?.value ?? []).toString();
      } catch (e) {
        // A proxy may still be loading its cache.
        if (attempt > 50) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    kv.close();
    if (reader !== kv) reader.close();
  }
}

describe('kvfleet up (npm start)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('starts three members and two proxies, serves at once, stops on Ctrl-C and resumes from its data', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'kvfleet-up-'));
    dirs.push(dataDir);
    const base = await freeBasePort();

    const first = startUp(dataDir, base);
    await waitFor(() => (first.output().match(/serving client requests/g) ?? []).length >= 3, 'three members serving', first.output);
    expect(first.output()).toContain(`etcdctl --endpoints=127.0.0.1:${String(base)},127.0.0.1:${String(base + STEP)},127.0.0.1:${String(base + 2 * STEP)}`);
    expect(await putThenGet(base + STEP, 'up/k', 'v1')).toBe('v1');
    // A linearizable read through each proxy sees the write made through a member.
    for (const p of PROXY_PORTS) expect(await putThenGet(base + STEP, `up/p${String(p)}`, 'pv', base + p)).toBe('pv');
    expect(first.output()).toContain(`etcdctl --endpoints=127.0.0.1:${String(base + 100)},127.0.0.1:${String(base + 200)} get hello`);
    first.child.kill('SIGINT');
    expect(await first.exit).toBe(0);
    expect(first.output()).toContain('cluster stopped');
    expect((first.output().match(/ INFO  stopped/g) ?? []).length).toBeGreaterThanOrEqual(3);

    const second = startUp(dataDir, base);
    await waitFor(() => (second.output().match(/member restarted/g) ?? []).length === 3, 'three members restarted', second.output);
    expect(await putThenGet(base, 'up/k2', 'v2')).toBe('v2');
    const kv = proto.createClient('KV', `127.0.0.1:${String(base + 2 * STEP)}`);
    const res = await proto.unaryCall(kv.Range.bind(kv), { key: Buffer.from('up/k') });
    kv.close();
    expect(Buffer.from(res.kvs[0]?.value ?? []).toString()).toBe('v1');
    second.child.kill('SIGINT');
    expect(await second.exit).toBe(0);
  }, 90_000);
});
