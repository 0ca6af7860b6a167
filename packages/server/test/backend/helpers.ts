import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { useTempDirs as useSharedTempDirs } from '../temp-dirs.js';
import type { Backend, KeyValue } from '../../src/backend/backend.js';
import { BackendError, type BackendErrorCode } from '../../src/backend/errors.js';
import { LmdbBackend } from '../../src/backend/lmdb-backend.js';
import { MemoryBackend } from '../../src/backend/memory-backend.js';

/** Makes a fresh, empty backend; everything it makes is closed and removed after each test. */
export type BackendFactory = () => Promise<Backend>;

/** Fresh temporary directories, removed after each test (after the backends in them are closed). */
export function useTempDirs(): () => Promise<string> {
  return useSharedTempDirs('backend');
}

/** Backends opened by a test, closed after it. Register after useTempDirs: vitest runs afterEach hooks in reverse, so backends close before their directories go. */
export function useBackends(): (b: Backend) => Backend {
  const opened: Backend[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((b) => b.close()));
  });
  return (b) => {
    opened.push(b);
    return b;
  };
}

/** Factories for both implementations, sharing cleanup. Call at describe level. */
export function useFactories(): { memory: BackendFactory; lmdb: BackendFactory; tempDir: () => Promise<string>; track: (b: Backend) => Backend } {
  const tempDir = useTempDirs();
  const track = useBackends();
  return {
    memory: async () => track(MemoryBackend.open()),
    lmdb: async () => track(LmdbBackend.open({ path: join(await tempDir(), 'db') })),
    tempDir,
    track,
  };
}

export const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Keys of a range result as arrays of numbers, for readable assertions. */
export function keysOf(kvs: KeyValue[]): number[][] {
  return kvs.map((kv) => [...kv.key]);
}

/** Asserts that `p` rejects (or `f` throws) with a BackendError of `code`. */
export async function expectCode(p: Promise<unknown> | (() => unknown), code: BackendErrorCode): Promise<void> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(BackendError);
  expect((caught as BackendError).code).toBe(code);
}

/** Collects a snapshot stream into one buffer. */
export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}

/** A deterministic mixed data set over several buckets, including edge-case keys. */
export async function fill(b: Backend, n = 200): Promise<void> {
  await b.batch((txn) => {
    for (let i = 0; i < n; i++) {
      const key = Buffer.alloc(4);
      key.writeUInt32BE(i * 2654435761 >>> 0);
      txn.put(i % 3 === 0 ? 'key' : i % 3 === 1 ? 'meta' : 'lease', key, text(`value-${i}`.repeat(i % 7)));
    }
    txn.put('key', bytes(0x00), bytes());
    txn.put('key', bytes(0xff, 0xff), bytes(0xff));
    txn.put('k', bytes(1), bytes(2));
  });
}
