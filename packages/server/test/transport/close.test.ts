import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/exit-after-close.ts', import.meta.url));
const viteNode = fileURLToPath(new URL('../../../../node_modules/vite-node/vite-node.mjs', import.meta.url));

it('close() leaves no handles: a process that used transports exits on its own', async () => {
  const child = spawn(process.execPath, [viteNode, fixture], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | 'hung'>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('hung');
    }, 30_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c ?? -1);
    });
  });
  expect({ code, out }).toMatchObject({ code: 0 });
  expect(out).toMatch(/received 7/);
});
