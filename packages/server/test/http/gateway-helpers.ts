/**
 * A single kvfleet member started in-process (memory backend, port 0 client URL) with the JSON
 * gateway on a standalone fastify app pointed at the member's gRPC port, until the member's own
 * client port serves HTTP.
 */
import { createServer } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { startMember, type RunningMember } from '../../src/embed/start-member.js';
import { registerGateway } from '@kvfleet/core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testMemberConfig } from '../test-member-config.js';

export interface GatewayMember {
  readonly member: RunningMember;
  readonly app: FastifyInstance;
  /** `http://127.0.0.1:<port>` of the gateway app. */
  readonly url: string;
  readonly grpcAddress: string;
  /** Stops the member (not the gateway app); idempotent. */
  stopMember(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts the member and the gateway app in beforeAll and stops both in afterAll. */
export function useGatewayMember(): () => GatewayMember {
  let running: GatewayMember | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kvfleet-gateway-'));
    const peer = `http://127.0.0.1:${await freePort()}`;
    const member = await startMember(testMemberConfig({ name: 'gw', dir, dataSubdir: 'data', peerUrl: peer, token: 'gateway-test' }));
    const grpcAddress = `127.0.0.1:${member.clientPorts[0]}`;
    const app = Fastify();
    registerGateway(app, { grpcAddress });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    let stopping: Promise<void> | undefined;
    const stopMember = (): Promise<void> => (stopping ??= member.stop());
    running = { member, app, url, grpcAddress, stopMember };
    // The first request waits for the member's first election.
    await waitForLeader(url);
  }, 30_000);
  afterAll(async () => {
    await running?.app.close();
    await running?.stopMember();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, 30_000);
  return () => {
    if (running === undefined) throw new Error('the gateway member is not running');
    return running;
  };
}

async function waitForLeader(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await fetch(`${url}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: b64('health') }) });
    if (res.status === 200) return;
    if (Date.now() > deadline) throw new Error(`no leader: ${res.status} ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

/** POSTs `body` (an object as JSON, or a raw string) and returns status, content type and text. */
export async function post(url: string, path: string, body: unknown): Promise<{ status: number; type: string | null; text: string; json: any }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, type: res.headers.get('content-type'), text, json };
}

/** An open streaming response read line by line (each line one JSON object). */
export interface LineStream {
  readonly status: number;
  readonly headers: Headers;
  /** The next line parsed as JSON, or undefined when the stream ended. */
  next(timeoutMs?: number): Promise<any>;
  /** Aborts the request (the client goes away). */
  close(): void;
}

export async function openStream(url: string, path: string, body: string): Promise<LineStream> {
  const abort = new AbortController();
  const res = await fetch(`${url}${path}`, { method: 'POST', body, signal: abort.signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  return {
    status: res.status,
    headers: res.headers,
    async next(timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const nl = buffered.indexOf('\n');
        if (nl >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          return JSON.parse(line);
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no line within ${timeoutMs} ms (have ${JSON.stringify(buffered)})`);
        let timer: NodeJS.Timeout | undefined;
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no line within ${timeoutMs} ms (have ${JSON.stringify(buffered)})`)), left);
          }),
        ]).finally(() => clearTimeout(timer));
        if (chunk.done) {
          // The last chunk may lack a newline (grpc-gateway writes a stream error without one).
          const rest = buffered.trim();
          buffered = '';
          return rest === '' ? undefined : JSON.parse(rest);
        }
        buffered += decoder.decode(chunk.value, { stream: true });
      }
    },
    close() {
      abort.abort();
    },
  };
}
