import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBackendError } from '../../src/backend/errors.js';
import { LmdbBackend } from '../../src/backend/lmdb-backend.js';
import { MemoryBackend } from '../../src/backend/memory-backend.js';
import { openBackend } from '../../src/backend/open-backend.js';
import * as server from '../../src/index.js';
import { backendContract } from './contract.js';
import { bytes, expectCode, fill, keysOf, useFactories } from './helpers.js';

describe('backends', () => {
  const f = useFactories();
  backendContract('memory', f.memory, f.lmdb);
  backendContract('lmdb', f.lmdb, f.memory);

  describe('LmdbBackend', () => {
    it('keeps committed data across close and reopen', async () => {
      const path = join(await f.tempDir(), 'db');
      const first = LmdbBackend.open({ path });
      await fill(first);
      await first.batch((txn) => txn.delete('key', bytes(0x00)));
      const h = await first.hash();
      await first.close();

      const second = f.track(LmdbBackend.open({ path }));
      expect(await second.hash()).toBe(h);
      const v = second.readTxn();
      expect(v.get('key', bytes(0x00))).toBeUndefined();
      expect(v.get('key', bytes(0xff, 0xff))).toEqual(bytes(0xff));
      expect(v.buckets()).toEqual(['k', 'key', 'lease', 'meta']);
      v.release();
      await second.batch((txn) => txn.put('k', bytes(2), bytes(2)));
      const w = second.readTxn();
      expect(keysOf(w.range('k'))).toEqual([[1], [2]]);
      w.release();
    });

    it('does not persist a failed batch across reopen', async () => {
      const path = join(await f.tempDir(), 'db');
      const first = LmdbBackend.open({ path });
      await first.batch((txn) => txn.put('a', bytes(1), bytes(1)));
      await expect(first.batch((txn) => {
        txn.put('a', bytes(2), bytes(2));
        throw new Error('abort');
      })).rejects.toThrow('abort');
      await first.close();
      const second = f.track(LmdbBackend.open({ path }));
      const v = second.readTxn();
      expect(keysOf(v.range('a'))).toEqual([[1]]);
      v.release();
    });

    it('isolates a throwing batch from the batches grouped with it', async () => {
      const b = await f.lmdb();
      // Issued in one event turn, so lmdb-js runs them in one LMDB write transaction.
      const results = await Promise.allSettled([
        b.batch((txn) => txn.put('a', bytes(1), bytes(1))),
        b.batch((txn) => {
          txn.put('a', bytes(2), bytes(2));
          throw new Error('middle');
        }),
        b.batch((txn) => txn.put('a', bytes(3), bytes(3))),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const v = b.readTxn();
      expect(keysOf(v.range('a'))).toEqual([[1], [3]]);
      v.release();
    });
  });

  describe('openBackend', () => {
    it('opens either kind by flag', async () => {
      const mem = f.track(openBackend({ kind: 'memory' }));
      expect(mem).toBeInstanceOf(MemoryBackend);
      const lmdb = f.track(openBackend({ kind: 'lmdb', path: join(await f.tempDir(), 'db') }));
      expect(lmdb).toBeInstanceOf(LmdbBackend);
      expect(lmdb.kind).toBe('lmdb');
      await lmdb.batch((txn) => txn.put('a', bytes(1), bytes(1)));
      expect(lmdb.readTxn().get('a', bytes(1))).toEqual(bytes(1));
    });

    it('rejects a missing path or an unknown kind', async () => {
      await expectCode(() => openBackend({ kind: 'lmdb' }), 'ErrBackendInvalidArgument');
      await expectCode(() => openBackend({ kind: 'rocks' as 'lmdb' }), 'ErrBackendInvalidArgument');
    });

    it('is exported from the server package', () => {
      expect(server.backend.openBackend).toBe(openBackend);
      expect(isBackendError(new server.backend.BackendError('ErrBackendClosed'), 'ErrBackendClosed')).toBe(true);
    });
  });
});
