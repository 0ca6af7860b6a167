/**
 * The behaviour every Backend must have, as one suite run against each implementation.
 * `make` gives a fresh empty backend of the implementation under test, `other` one of a
 * different implementation (for hash agreement and cross-restore).
 */
import { describe, expect, it } from 'vitest';
import { MAX_KEY_BYTES, type WriteTxn } from '../../src/backend/backend.js';
import { bytes, collect, expectCode, fill, keysOf, text, type BackendFactory } from './helpers.js';

export function backendContract(name: string, make: BackendFactory, other: BackendFactory): void {
  describe(`Backend contract: ${name}`, () => {
    it('puts, gets and deletes, bucket by bucket', async () => {
      const b = await make();
      await b.batch((txn) => {
        txn.put('a', text('x'), text('1'));
        txn.put('b', text('x'), text('2'));
        txn.put('a', text('y'), bytes());
      });
      const v = b.readTxn();
      expect(v.get('a', text('x'))).toEqual(text('1'));
      expect(v.get('b', text('x'))).toEqual(text('2'));
      expect(v.get('a', text('y'))).toEqual(bytes());
      expect(v.get('a', text('z'))).toBeUndefined();
      expect(v.get('c', text('x'))).toBeUndefined();
      expect(v.buckets()).toEqual(['a', 'b']);
      v.release();

      await b.batch((txn) => {
        txn.put('a', text('x'), text('one'));
        txn.delete('b', text('x'));
        txn.delete('b', text('never there'));
        txn.delete('nope', text('x'));
      });
      const w = b.readTxn();
      expect(w.get('a', text('x'))).toEqual(text('one'));
      expect(w.get('b', text('x'))).toBeUndefined();
      // A bucket with no keys is gone.
      expect(w.buckets()).toEqual(['a']);
      w.release();
    });

    it('copies what it stores and what it returns', async () => {
      const b = await make();
      const key = text('k');
      const value = text('v');
      await b.batch((txn) => txn.put('a', key, value));
      key[0] = 0;
      value[0] = 0;
      const v = b.readTxn();
      const got = v.get('a', text('k'))!;
      expect(got).toEqual(text('v'));
      got[0] = 1;
      expect(v.get('a', text('k'))).toEqual(text('v'));
      v.release();
    });

    it('orders byte keys, including 0x00, 0xff and prefixes', async () => {
      const b = await make();
      const keys = [
        [0x00],
        [0x00, 0x00],
        [0x00, 0xff],
        [0x01],
        [0x61],
        [0x61, 0x00],
        [0x61, 0x61],
        [0x61, 0xff],
        [0x62],
        [0x7f],
        [0x80],
        [0xfe, 0xff, 0xff],
        [0xff],
        [0xff, 0x00],
        [0xff, 0xff],
        [0xff, 0xff, 0xff],
      ];
      // Written shuffled; neighbouring buckets whose names share a prefix must not leak in.
      await b.batch((txn) => {
        for (const k of [...keys].reverse()) txn.put('ab', bytes(...k), bytes(k.length));
        txn.put('a', bytes(0x00), bytes());
        txn.put('abc', bytes(0x00), bytes());
        txn.put('b', bytes(0x00), bytes());
      });
      const v = b.readTxn();
      expect(keysOf(v.range('ab'))).toEqual(keys);
      expect(keysOf(v.range('ab', { reverse: true }))).toEqual([...keys].reverse());
      // [a, b): the prefix "a" and everything starting with it.
      expect(keysOf(v.range('ab', { gte: bytes(0x61), lt: bytes(0x62) }))).toEqual([[0x61], [0x61, 0x00], [0x61, 0x61], [0x61, 0xff]]);
      // lt excludes exactly the bound; a key extending the bound sorts after it.
      expect(keysOf(v.range('ab', { gte: bytes(0x00), lt: bytes(0x00, 0xff) }))).toEqual([[0x00], [0x00, 0x00]]);
      // gte between stored keys, lt beyond all of them.
      expect(keysOf(v.range('ab', { gte: bytes(0xfe), lt: bytes(0xff, 0xff, 0xff, 0xff) }))).toEqual([
        [0xfe, 0xff, 0xff],
        [0xff],
        [0xff, 0x00],
        [0xff, 0xff],
        [0xff, 0xff, 0xff],
      ]);
      expect(keysOf(v.range('ab', { gte: bytes(0xff, 0xff) }))).toEqual([[0xff, 0xff], [0xff, 0xff, 0xff]]);
      expect(keysOf(v.range('ab', { lt: bytes(0x00, 0x00) }))).toEqual([[0x00]]);
      // Empty and inverted ranges.
      expect(v.range('ab', { gte: bytes(0x62), lt: bytes(0x62) })).toEqual([]);
      expect(v.range('ab', { gte: bytes(0x70), lt: bytes(0x62) })).toEqual([]);
      expect(v.range('ab', { lt: bytes() })).toEqual([]);
      expect(v.range('missing')).toEqual([]);
      // Values come back with their keys.
      expect(v.range('ab', { gte: bytes(0xff, 0xff, 0xff) })).toEqual([{ key: bytes(0xff, 0xff, 0xff), value: bytes(3) }]);
      expect(v.buckets()).toEqual(['a', 'ab', 'abc', 'b']);
      v.release();
    });

    it('applies limit and reverse together', async () => {
      const b = await make();
      await b.batch((txn) => {
        for (let i = 0; i < 10; i++) txn.put('n', bytes(i), bytes(i));
      });
      const v = b.readTxn();
      expect(keysOf(v.range('n', { limit: 3 }))).toEqual([[0], [1], [2]]);
      expect(keysOf(v.range('n', { limit: 3, reverse: true }))).toEqual([[9], [8], [7]]);
      expect(keysOf(v.range('n', { gte: bytes(2), lt: bytes(6), limit: 2, reverse: true }))).toEqual([[5], [4]]);
      expect(keysOf(v.range('n', { gte: bytes(2), lt: bytes(6), limit: 2 }))).toEqual([[2], [3]]);
      expect(keysOf(v.range('n', { gte: bytes(8), limit: 5 }))).toEqual([[8], [9]]);
      expect(keysOf(v.range('n', { gte: bytes(2, 0), lt: bytes(4), reverse: true }))).toEqual([[3]]);
      v.release();
    });

    it('rejects bad arguments with ErrBackendInvalidArgument', async () => {
      const b = await make();
      await expectCode(b.batch((txn) => txn.put('a', bytes(), bytes(1))), 'ErrBackendInvalidArgument');
      await expectCode(b.batch((txn) => txn.put('a', new Uint8Array(MAX_KEY_BYTES + 1), bytes(1))), 'ErrBackendInvalidArgument');
      await expectCode(b.batch((txn) => txn.put('', bytes(1), bytes(1))), 'ErrBackendInvalidArgument');
      await expectCode(b.batch((txn) => txn.put('a\0b', bytes(1), bytes(1))), 'ErrBackendInvalidArgument');
      await expectCode(b.batch((txn) => txn.put('x'.repeat(65), bytes(1), bytes(1))), 'ErrBackendInvalidArgument');
      await expectCode(b.batch((txn) => txn.put('a', 'k' as unknown as Uint8Array, bytes(1))), 'ErrBackendInvalidArgument');
      await expectCode(b.batch(async () => undefined), 'ErrBackendInvalidArgument');
      // Inside a batch too, and on a bucket that does not exist yet.
      await expectCode(b.batch((txn) => void txn.range('nothing-here', { limit: 0 })), 'ErrBackendInvalidArgument');
      const v = b.readTxn();
      await expectCode(() => v.range('a', { limit: 0 }), 'ErrBackendInvalidArgument');
      await expectCode(() => v.range('a', { limit: 1.5 }), 'ErrBackendInvalidArgument');
      v.release();
      await b.batch((txn) => txn.put('a', new Uint8Array(MAX_KEY_BYTES).fill(0xff), bytes(1)));
      const w = b.readTxn();
      // The longest key and the bound just after it both work.
      expect(w.range('a', { gte: new Uint8Array(MAX_KEY_BYTES + 1).fill(0xff) })).toEqual([]);
      expect(w.range('a', { lt: new Uint8Array(MAX_KEY_BYTES + 1).fill(0xff) })).toHaveLength(1);
      expect(w.buckets()).toEqual(['a']);
      w.release();
    });

    it('commits a batch all or nothing', async () => {
      const b = await make();
      await b.batch((txn) => {
        txn.put('a', text('keep'), text('1'));
        txn.put('a', text('gone'), text('1'));
      });
      const before = await b.hash();
      const boom = new Error('boom');
      await expect(
        b.batch((txn) => {
          txn.put('a', text('keep'), text('changed'));
          txn.delete('a', text('gone'));
          txn.put('a', text('new'), text('1'));
          txn.put('fresh', text('k'), text('v'));
          throw boom;
        }),
      ).rejects.toBe(boom);
      const v = b.readTxn();
      expect(v.get('a', text('keep'))).toEqual(text('1'));
      expect(v.get('a', text('gone'))).toEqual(text('1'));
      expect(v.get('a', text('new'))).toBeUndefined();
      expect(v.buckets()).toEqual(['a']);
      v.release();
      expect(await b.hash()).toBe(before);
      // The backend stays usable.
      await b.batch((txn) => txn.put('a', text('after'), text('1')));
      const w = b.readTxn();
      expect(keysOf(w.range('a'))).toEqual([[...text('after')], [...text('gone')], [...text('keep')]]);
      w.release();
    });

    it('rolls back a failed batch while a read view pins the old data', async () => {
      const b = await make();
      await fill(b, 30);
      const pinned = b.readTxn();
      const before = await b.hash();
      await expect(
        b.batch((txn) => {
          txn.put('key', bytes(0x00), text('x'));
          txn.delete('key', bytes(0xff, 0xff));
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      expect(pinned.get('key', bytes(0xff, 0xff))).toEqual(bytes(0xff));
      pinned.release();
      expect(await b.hash()).toBe(before);
    });

    it('lets a batch read its own writes', async () => {
      const b = await make();
      await b.batch((txn) => txn.put('a', bytes(1), text('old')));
      const seen = await b.batch((txn) => {
        txn.put('a', bytes(2), text('two'));
        txn.put('a', bytes(1), text('new'));
        txn.delete('a', bytes(3));
        const got = txn.get('a', bytes(1));
        return { got, keys: keysOf(txn.range('a')), buckets: txn.buckets() };
      });
      expect(seen).toEqual({ got: text('new'), keys: [[1], [2]], buckets: ['a'] });
    });

    it('gives read views a stable snapshot while batches commit', async () => {
      const b = await make();
      await b.batch((txn) => {
        txn.put('a', bytes(1), text('v1'));
        txn.put('a', bytes(2), text('v1'));
      });
      const old = b.readTxn();
      await b.batch((txn) => {
        txn.put('a', bytes(1), text('v2'));
        txn.delete('a', bytes(2));
        txn.put('a', bytes(3), text('v2'));
        txn.put('z', bytes(3), text('v2'));
      });
      const mid = b.readTxn();
      await b.batch((txn) => txn.put('a', bytes(4), text('v3')));
      expect(old.get('a', bytes(1))).toEqual(text('v1'));
      expect(keysOf(old.range('a'))).toEqual([[1], [2]]);
      expect(old.buckets()).toEqual(['a']);
      expect(keysOf(mid.range('a'))).toEqual([[1], [3]]);
      expect(mid.buckets()).toEqual(['a', 'z']);
      old.release();
      mid.release();
      const now = b.readTxn();
      expect(keysOf(now.range('a'))).toEqual([[1], [3], [4]]);
      now.release();
    });

    it('refuses use of released views, finished write transactions and nested batches', async () => {
      const b = await make();
      const v = b.readTxn();
      v.release();
      v.release();
      await expectCode(() => v.get('a', bytes(1)), 'ErrBackendClosed');
      let escaped: WriteTxn | undefined;
      let nested: Promise<unknown> | undefined;
      let viewError: unknown;
      await b.batch((txn) => {
        escaped = txn;
        // Settled into a value at once, so the rejection is never unhandled.
        nested = b.batch((t) => t.put('a', bytes(1), bytes(1))).then(() => undefined, (e: unknown) => Promise.reject(e));
        nested.catch(() => undefined);
        try {
          b.readTxn();
        } catch (e) {
          viewError = e;
        }
        txn.put('a', bytes(2), bytes(2));
      });
      await expectCode(nested!, 'ErrBackendInvalidArgument');
      await expectCode(Promise.reject(viewError), 'ErrBackendBusy');
      await expectCode(() => escaped!.put('a', bytes(3), bytes(3)), 'ErrBackendClosed');
      const w = b.readTxn();
      expect(keysOf(w.range('a'))).toEqual([[2]]);
      w.release();
    });

    it('commits concurrent batches in call order', async () => {
      const b = await make();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          b.batch((txn) => {
            const prev = txn.get('c', bytes(0));
            txn.put('c', bytes(0), bytes(i));
            return prev === undefined ? -1 : prev[0]!;
          }),
        ),
      );
      expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i - 1));
    });

    it('hashes contents identically across implementations', async () => {
      const b = await make();
      const o = await other();
      expect(await b.hash()).toBe(await o.hash());
      await fill(b);
      await fill(o);
      const h = await b.hash();
      expect(h).toBe(await o.hash());
      expect(h).not.toBe(0);
      // Same pairs written in another order and batching give the same hash.
      const c = await make();
      const snap = b.readTxn();
      const all = snap.buckets().flatMap((bucket) => snap.range(bucket).map((kv) => ({ bucket, ...kv })));
      snap.release();
      for (const chunk of [all.slice(100).reverse(), all.slice(0, 100)]) {
        await c.batch((txn) => {
          for (const e of chunk) txn.put(e.bucket, e.key, e.value);
        });
      }
      expect(await c.hash()).toBe(h);
    });

    it('changes the hash on any change', async () => {
      const b = await make();
      await fill(b, 20);
      const seen = new Set<number>([await b.hash()]);
      const changes: Array<(txn: WriteTxn) => void> = [
        (t) => t.put('key', bytes(0x00), bytes(0)), // value: empty -> one byte
        (t) => t.put('key', bytes(0x00), bytes(1)), // one value byte
        (t) => t.put('key', bytes(0x00, 0x00), bytes(1)), // new key
        (t) => t.delete('key', bytes(0x00)), // deleted key
        (t) => t.put('kez', bytes(0x00, 0x00), bytes(1)), // same pair in a new bucket
        (t) => t.delete('key', bytes(0x00, 0x00)), // ...and gone from the old one
        (t) => t.put('k', bytes(1, 2), bytes()), // key/value boundary moved
      ];
      for (const change of changes) {
        await b.batch(change);
        const h = await b.hash();
        expect(seen.has(h)).toBe(false);
        seen.add(h);
      }
    });

    it('restores its snapshot into the other implementation and back', async () => {
      const b = await make();
      await fill(b);
      const h = await b.hash();
      const stream = b.snapshot();
      // Writes after snapshot() do not reach the stream.
      await b.batch((txn) => txn.put('late', bytes(1), bytes(1)));
      const o = await other();
      const restored = await o.restore(stream);
      expect(restored).toEqual({ entries: 203, hash: h });
      expect(await o.hash()).toBe(h);
      const v = o.readTxn();
      expect(v.get('key', bytes(0xff, 0xff))).toEqual(bytes(0xff));
      expect(v.buckets()).toEqual(['k', 'key', 'lease', 'meta']);
      v.release();

      const again = await make();
      expect((await again.restore(o.snapshot())).hash).toBe(h);
    });

    it('round-trips an empty backend and arbitrary chunking', async () => {
      const b = await make();
      const empty = await collect(b.snapshot());
      const o = await other();
      expect(await o.restore([empty])).toEqual({ entries: 0, hash: 0 });

      await fill(b, 50);
      const whole = await collect(b.snapshot());
      const byByte = Array.from(whole, (x) => Uint8Array.of(x));
      const c = await make();
      expect((await c.restore(byByte)).hash).toBe(await b.hash());
    });

    it('rejects a corrupted snapshot with ErrBackendSnapshotCorrupt and stays empty', async () => {
      const b = await make();
      await fill(b, 50);
      const good = await collect(b.snapshot());
      const flipped = Buffer.from(good);
      flipped[Math.floor(flipped.length / 2)]! ^= 0x01;
      const cases: Uint8Array[][] = [
        [flipped],
        [good.subarray(0, good.length - 1)],
        [good.subarray(0, good.length - 13)],
        [good, bytes(0)],
        [bytes()],
        [Buffer.from('NOTASNAP')],
      ];
      for (const chunks of cases) {
        const o = await make();
        await expectCode(o.restore(chunks), 'ErrBackendSnapshotCorrupt');
        expect(o.readTxn().buckets()).toEqual([]);
        expect(await o.hash()).toBe(0);
        // Still usable: a good snapshot loads afterwards.
        expect((await o.restore([good])).hash).toBe(await b.hash());
      }
    });

    it('restores only into an empty backend', async () => {
      const b = await make();
      await fill(b, 5);
      const good = await collect(b.snapshot());
      await expectCode(b.restore([good]), 'ErrBackendNotEmpty');
    });

    it('releases the snapshot view when the stream is abandoned', async () => {
      const b = await make();
      await fill(b, 5);
      const s = b.snapshot();
      await s.return!();
      const t = b.snapshot();
      for await (const chunk of t) {
        expect(chunk.length).toBeGreaterThan(0);
        break;
      }
      expect(await t.next()).toEqual({ done: true, value: undefined });
    });

    it('reports sizes that are non-zero and grow with the data', async () => {
      const b = await make();
      await b.batch((txn) => txn.put('a', bytes(1), new Uint8Array(100)));
      const size1 = b.sizeBytes();
      const inUse1 = b.sizeInUseBytes();
      expect(size1).toBeGreaterThan(0);
      expect(inUse1).toBeGreaterThan(0);
      expect(size1).toBeGreaterThanOrEqual(inUse1);
      for (let round = 0; round < 4; round++) {
        await b.batch((txn) => {
          for (let i = 0; i < 500; i++) txn.put('big', Uint8Array.of(round, i >> 8, i & 0xff), new Uint8Array(400).fill(i));
        });
      }
      expect(b.sizeBytes()).toBeGreaterThan(size1);
      expect(b.sizeInUseBytes()).toBeGreaterThan(inUse1);
      expect(b.sizeBytes()).toBeGreaterThanOrEqual(b.sizeInUseBytes());
      // Deleting frees space in use; the allocated size does not shrink.
      const allocated = b.sizeBytes();
      const used = b.sizeInUseBytes();
      await b.batch((txn) => {
        for (const kv of (txn.range('big'))) txn.delete('big', kv.key);
      });
      expect(b.sizeInUseBytes()).toBeLessThan(used);
      expect(b.sizeBytes()).toBeGreaterThanOrEqual(allocated);
    });

    it('defragments: the contents stay, the size falls back towards what is in use', async () => {
      const b = await make();
      await b.batch((txn) => {
        for (let i = 0; i < 2000; i++) txn.put('big', Uint8Array.of(i >> 8, i & 0xff), new Uint8Array(400).fill(i));
        txn.put('keep', bytes(1), bytes(7));
      });
      await b.batch((txn) => {
        for (const kv of txn.range('big')) txn.delete('big', kv.key);
      });
      const before = b.sizeBytes();
      const hash = await b.hash();
      await Promise.all([b.defragment(), b.defragment()]);
      expect(await b.hash()).toBe(hash);
      expect(b.sizeBytes()).toBeLessThan(before);
      expect(b.sizeBytes()).toBeGreaterThanOrEqual(b.sizeInUseBytes());
      await b.batch((txn) => txn.put('keep', bytes(2), bytes(8)));
      const v = b.readTxn();
      expect(v.get('keep', bytes(2))).toEqual(bytes(8));
      v.release();
    });

    it('refuses everything after close', async () => {
      const b = await make();
      await fill(b, 5);
      const v = b.readTxn();
      const pending = b.batch((txn) => txn.put('a', bytes(1), bytes(1)));
      await b.close();
      await pending;
      await b.close();
      await expectCode(() => v.get('a', bytes(1)), 'ErrBackendClosed');
      await expectCode(() => b.readTxn(), 'ErrBackendClosed');
      await expectCode(() => b.sizeBytes(), 'ErrBackendClosed');
      await expectCode(b.batch(() => undefined), 'ErrBackendClosed');
      await expectCode(b.hash(), 'ErrBackendClosed');
      await expectCode(b.restore([]), 'ErrBackendClosed');
      await expectCode(() => b.defragment(), 'ErrBackendClosed');
    });
  });
}
