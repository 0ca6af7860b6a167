// A throwaway single-member etcd for the proxy's upstream tests (skipped when etcd is absent
// outside CI; under CI=true its absence fails the test).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { proto } from '@kvfleet/core';
// One free-port helper for every suite: the harness's.
import { freePort } from '../../../test/harness/ports.js';

export { freePort };

export const ETCD_BIN = process.env.ETCD_BIN ?? '/usr/bin/etcd';
export const HAVE_ETCD = existsSync(ETCD_BIN);
if (!HAVE_ETCD && process.env.CI !== 'true') {
  console.warn(`${ETCD_BIN} not found: skipping etcd-backed proxy tests (apt-get install etcd-server)`);
}
export const needEtcd = HAVE_ETCD || process.env.CI === 'true';

export interface EtcdProcess {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startEtcd(): Promise<EtcdProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'kvfleet-proxy-etcd-'));
  const client = await freePort();
  const peer = await freePort();
  const url = (p: number) => `http://127.0.0.1:${String(p)}`;
  const child: ChildProcess = spawn(
    ETCD_BIN,
    ['--data-dir', dir, '--listen-client-urls', url(client), '--advertise-client-urls', url(client), '--listen-peer-urls', url(peer), '--initial-advertise-peer-urls', url(peer), '--initial-cluster', `default=${url(peer)}`],
    { stdio: 'ignore' },
  );
  const endpoint = `127.0.0.1:${String(client)}`;
  const kv = proto.createClient('KV', endpoint);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await proto.unaryCall(kv.Range.bind(kv), { key: Buffer.from('x') }, undefined, { deadline: Date.now() + 1000 });
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  kv.close();
  return {
    endpoint,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
