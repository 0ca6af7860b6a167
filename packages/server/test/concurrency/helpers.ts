/**
 * In-process kvfleet members (memory backend, port 0 client URLs) for the lock and election
 * tests, with typed gRPC clients and small promise helpers.
 */
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { proto } from '@kvfleet/core';
import { afterAll, beforeAll } from 'vitest';
import { startMember, type RunningMember } from '../../src/embed/start-member.js';
import { testMemberConfig } from '../test-member-config.js';

export interface TestMember {
  readonly member: RunningMember;
  readonly address: string;
  readonly lock: proto.ServiceClient<'Lock'>;
  readonly election: proto.ServiceClient<'Election'>;
  readonly kv: proto.ServiceClient<'KV'>;
  readonly lease: proto.ServiceClient<'Lease'>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts `size` members of one cluster in `dir`; resolves once every one is serving. */
export async function startMembers(dir: string, size: number): Promise<TestMember[]> {
  const peers: string[] = [];
  for (let i = 0; i < size; i++) peers.push(`http://127.0.0.1:${await freePort()}`);
  const initialCluster = peers.map((p, i) => `m${i}=${p}`).join(',');
  const members = await Promise.all(
    peers.map((peer, i) =>
      startMember(testMemberConfig({ name: `m${i}`, dir, peerUrl: peer, initialCluster, token: 'concurrency-test' })),
    ),
  );
  const out = members.map((member) => {
    const address = `127.0.0.1:${member.clientPorts[0]}`;
    return {
      member,
      address,
      lock: proto.createClient('Lock', address),
      election: proto.createClient('Election', address),
      kv: proto.createClient('KV', address),
      lease: proto.createClient('Lease', address),
    };
  });
  // The first linearizable read waits for the first election.
  await Promise.all(out.map((m) => retry(() => call(m.kv, 'Range', { key: Buffer.from('health') }), 20_000)));
  return out;
}

export async function stopMembers(members: readonly TestMember[]): Promise<void> {
  for (const m of members) {
    for (const c of [m.lock, m.election, m.kv, m.lease]) c.close();
  }
  await Promise.all(members.map((m) => m.member.stop()));
}

/** A cluster of `size` in-process members for the calling describe block. */
export function useMembers(size: number): () => TestMember[] {
  let members: TestMember[] | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kvfleet-concurrency-'));
    members = await startMembers(dir, size);
  }, 40_000);
  afterAll(async () => {
    if (members !== undefined) await stopMembers(members);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, 30_000);
  return () => {
    if (members === undefined) throw new Error('the members are not running');
    return members;
  };
}

type UnaryMethods<C> = {
  [K in keyof C]: C[K] extends proto.UnaryClientMethod<infer _Q, infer _R> ? K : never;
}[keyof C];
type ReqOf<M> = M extends proto.UnaryClientMethod<infer Q, infer _R> ? proto.Init<Q> : never;
type ResOf<M> = M extends proto.UnaryClientMethod<infer _Q, infer R> ? proto.Decoded<R> : never;

/** A unary call as a promise; `deadlineMs` sets a gRPC deadline that far ahead. */
export function call<C extends grpc.Client, M extends UnaryMethods<C>>(
  client: C,
  method: M,
  request: ReqOf<C[M]>,
  deadlineMs?: number,
): Promise<ResOf<C[M]>> {
  const fn = (client[method] as unknown as proto.UnaryClientMethod<unknown, unknown>).bind(client);
  const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
  return proto.unaryCall(fn, request as proto.Init<unknown>, undefined, options) as Promise<ResOf<C[M]>>;
}

/** The gRPC code and text a call failed with (fails the test if it succeeded). */
export async function failure(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as grpc.ServiceError;
    return { code: err.code, details: err.details };
  }
  throw new Error('expected the call to fail');
}

/** Whether `p` is still pending after `ms`. */
export async function stillPending(p: Promise<unknown>, ms: number): Promise<boolean> {
  const pending = Symbol('pending');
  const r = await Promise.race([p.then(() => 'settled', () => 'settled'), sleep(ms).then(() => pending)]);
  return r === pending;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function retry<T>(fn: () => Promise<T>, withinMs: number): Promise<T> {
  const until = Date.now() + withinMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > until) throw e;
      await sleep(100);
    }
  }
}

/** Polls `check` until it returns true (or fails after `withinMs`). */
export async function eventually(check: () => Promise<boolean>, withinMs = 5_000): Promise<void> {
  const until = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await sleep(50);
  }
}

export const bytes = (s: string): Buffer => Buffer.from(s);
export const text = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? new Uint8Array(0)).toString();
export const num = (v: proto.Int64Like | null | undefined): number => proto.int64ToNumber(v ?? 0, 'value');

/** Watch streams open on a member's hub (white-box: proves a canceled wait let go of its watch). */
export function openHubStreams(m: TestMember): number {
  return (m.member.server.hub as unknown as { streams: Set<unknown> }).streams.size;
}
