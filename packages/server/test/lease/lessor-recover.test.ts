import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { LmdbBackend } from '../../src/backend/lmdb-backend.js';
import { MemoryBackend } from '../../src/backend/memory-backend.js';
import { LeaseError } from '../../src/lease/errors.js';
import { LEASE_BUCKET, encodeLeaseKey, encodeLeaseRecord } from '../../src/lease/lease-record.js';
import { Lessor, type LessorOptions } from '../../src/lease/lessor.js';
import { KvStore } from '../../src/mvcc/kv-store.js';
import { useTempDirs } from '../backend/helpers.js';
import { FakeClock, fixture, k, putWithLease, str } from './helpers.js';

const SEC = 1000;

/** Rebuilds a lessor as a restarting member would: leases from the backend, attachments from the live keys. */
async function recover(backend: Backend, options: Partial<LessorOptions> = {}): Promise<{ lessor: Lessor; clock: FakeClock }> {
  const store = await KvStore.open(backend);
  const clock = new FakeClock();
  const view = backend.readTxn();
  try {
    const live = store.range(k('\0'), k('\0')).kvs;
    return { lessor: Lessor.recover(view, live, { now: clock.now, minTtlSeconds: 2, ...options }), clock };
  } finally {
    view.release();
  }
}

/** Grants, attaches, checkpoints and revokes, leaving leases 1 (checkpointed) and 3. */
async function populate(backend: Backend): Promise<void> {
  const f = await fixture({ checkpointIntervalMs: 60 * SEC }, backend);
  await f.apply((t) => {
    f.lessor.grant(1, 3600, t);
    f.lessor.grant(2, 10, t);
    f.lessor.grant(3, 30, t);
  });
  await f.apply((t) => {
    putWithLease(f.lessor, t, k('a'), k('1'), 1);
    putWithLease(f.lessor, t, k('b'), k('1'), 2);
    putWithLease(f.lessor, t, k('c'), k('1'), 3);
    putWithLease(f.lessor, t, k('d'), k('1'), 1);
    putWithLease(f.lessor, t, k('plain'), k('1'), 0);
  });
  await f.apply((t) => f.lessor.checkpoint(1, 1234, t));
  await f.apply((t) => f.lessor.revoke(2, t));
}

async function expectRecovered(backend: Backend): Promise<void> {
  const { lessor } = await recover(backend);
  expect(lessor.isPrimary).toBe(false);
  expect(lessor.leases()).toEqual([1, 3]);
  expect(lessor.lookup(1)).toEqual({ id: 1, ttl: 3600, remainingTtl: 1234 });
  expect(lessor.lookup(3)).toEqual({ id: 3, ttl: 30, remainingTtl: 0 });
  lessor.promote(1000);
  expect(lessor.timeToLive(1, { keys: true })).toMatchObject({ ttl: 1235, grantedTtl: 3600 });
  expect(lessor.timeToLive(1, { keys: true }).keys.map(str)).toEqual(['a', 'd']);
  expect(lessor.timeToLive(3, { keys: true }).keys.map(str)).toEqual(['c']);
}

describe('Lessor persistence and recovery', () => {
  const tempDir = useTempDirs();

  it('recovers leases, checkpoints and attachments through a memory backend', async () => {
    const backend = MemoryBackend.open();
    await populate(backend);
    await expectRecovered(backend);
  });

  it('recovers leases, checkpoints and attachments across an LMDB close and reopen', async () => {
    const path = join(await tempDir(), 'db');
    const first = LmdbBackend.open({ path });
    await populate(first);
    await first.close();
    const second = LmdbBackend.open({ path });
    try {
      await expectRecovered(second);
    } finally {
      await second.close();
    }
  });

  it('recovers many leases (several pages) and raises TTLs below the minimum', async () => {
    const backend = MemoryBackend.open();
    const f = await fixture({ minTtlSeconds: 1 }, backend);
    await f.apply((t) => {
      for (let id = 1; id <= 2500; id++) f.lessor.grant(id, 1, t);
    });
    const { lessor } = await recover(backend, { minTtlSeconds: 5 });
    expect(lessor.leases().length).toBe(2500);
    expect(lessor.lookup(2500)).toEqual({ id: 2500, ttl: 5, remainingTtl: 0 });
  });

  it('skips live keys naming an unknown lease', async () => {
    const backend = MemoryBackend.open();
    const store = await KvStore.open(backend);
    await store.write({ consistentIndex: 1, consistentTerm: 1 }, (t) => t.put(k('x'), k('1'), { lease: 42 }));
    const { lessor } = await recover(backend);
    expect(lessor.leases()).toEqual([]);
  });

  it('refuses a record stored under another id', async () => {
    const backend = MemoryBackend.open();
    await backend.batch((b) => b.put(LEASE_BUCKET, encodeLeaseKey(1), encodeLeaseRecord({ id: 2, ttl: 10, remainingTtl: 0 })));
    await expect(recover(backend)).rejects.toThrow(LeaseError);
  });
});
