import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isWalError } from '../../src/wal/errors.js';
import { defaultSync, type SyncHook } from '../../src/wal/sync.js';
import { Wal } from '../../src/wal/wal.js';
import { deferred, entries, entry, entryIndexes, frames, settle, useTempDirs } from './helpers.js';

const META = new Uint8Array([7]);

const tempDir = useTempDirs();

/**
 * A sync hook that can be held shut, counts segment syncs, and remembers how many bytes of
 * each segment a completed sync made durable.
 */
class RecordingSync {
  segmentSyncs = 0;
  readonly durableBytes = new Map<string, number>();
  private gate: Promise<void> | undefined;
  private waiters: Array<() => void> = [];

  readonly hook: SyncHook = async (target) => {
    if (target.kind === 'segment') {
      this.segmentSyncs++;
      for (const w of this.waiters.splice(0)) w();
      if (this.gate !== undefined) await this.gate;
    }
    await defaultSync(target);
    if (target.kind === 'segment') this.durableBytes.set(target.name, target.bytes);
  };

  /** Makes every sync wait until the returned function is called. */
  hold(): () => void {
    const d = deferred();
    this.gate = d.promise;
    return () => {
      this.gate = undefined;
      d.resolve();
    };
  }

  /** Resolves when the next segment sync starts. */
  nextSync(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * What is durable right now, taken synchronously so that a check made when a save resolves
   * cannot see syncs that completed later.
   */
  durableNow(dir: string): Promise<Set<number>> {
    return durableIndexes(dir, new Map(this.durableBytes));
  }
}

/** Indexes of the entries inside the durable prefix of every segment of `dir`. */
async function durableIndexes(dir: string, durableBytes: ReadonlyMap<string, number>): Promise<Set<number>> {
  const out = new Set<number>();
  for (const [name, bytes] of durableBytes) {
    if (!name.endsWith('.wal')) continue; // a segment's temporary name holds only its head
    const buf = await readFile(join(dir, name));
    for (const i of entryIndexes(frames(buf.subarray(0, bytes)))) out.add(i);
  }
  return out;
}

describe('group commit', () => {
  it('covers saves that arrive during a sync with one following sync, resolving each only once durable', async () => {
    const dir = await tempDir();
    const sync = new RecordingSync();
    const wal = await Wal.create(dir, { metadata: META, sync: sync.hook });
    sync.segmentSyncs = 0;

    const release = sync.hold();
    const started = sync.nextSync();
    const resolved: number[] = [];
    const notDurable: number[] = [];
    const track = (i: number, p: Promise<void>): Promise<void> =>
      p.then(async () => {
        resolved.push(i);
        if (!(await sync.durableNow(dir)).has(i)) notDurable.push(i);
      });

    const saves = [track(1, wal.save({ entries: [entry(1, 1)], hardState: { term: 1, vote: 1, commit: 0 } }))];
    await started; // the first save's sync is now running, and held
    for (let i = 2; i <= 100; i++) {
      saves.push(track(i, wal.save({ entries: [entry(i, 1)], hardState: { term: 1, vote: 1, commit: i - 1 } })));
      if (i % 10 === 0) await settle(); // arrive over many turns of the event loop, not all at once
    }
    await settle();
    expect(resolved).toEqual([]); // nothing is durable while the sync is held

    release();
    await Promise.all(saves);
    expect(notDurable).toEqual([]);
    expect(resolved).toEqual(Array.from({ length: 100 }, (_, k) => k + 1));
    expect(sync.segmentSyncs).toBeLessThanOrEqual(3);
    await wal.close();

    // On disk in the order of the save() calls.
    const { wal: reopened, entries: ents, hardState } = await Wal.open(dir);
    expect(ents).toEqual(entries(1, 100, 1));
    expect(hardState).toEqual({ term: 1, vote: 1, commit: 99 });
    await reopened.close();
  });

  it('writes a save with sync: false without an fsync, and fsyncs it with the next save that needs one', async () => {
    const dir = await tempDir();
    const sync = new RecordingSync();
    const wal = await Wal.create(dir, { metadata: META, sync: sync.hook });
    await wal.save({ entries: [entry(1, 1)], hardState: { term: 1, vote: 1, commit: 0 } });
    sync.segmentSyncs = 0;
    // Only the commit index moved (Raft's mustSync false): written, not synced.
    await wal.save({ entries: [], hardState: { term: 1, vote: 1, commit: 1 }, sync: false });
    expect(sync.segmentSyncs).toBe(0);
    // Saved together with one that must be durable, it is synced with it.
    await Promise.all([
      wal.save({ entries: [], hardState: { term: 1, vote: 1, commit: 1 }, sync: false }),
      wal.save({ entries: [entry(2, 1)], hardState: { term: 1, vote: 1, commit: 1 } }),
    ]);
    expect(sync.segmentSyncs).toBe(1);
    await wal.close();
    const { wal: reopened, entries: ents, hardState } = await Wal.open(dir);
    expect(ents).toEqual(entries(1, 2, 1));
    expect(hardState).toEqual({ term: 1, vote: 1, commit: 1 });
    await reopened.close();
  });

  it('batches saves issued together, and stays durable-before-resolve across segment rollovers', async () => {
    const dir = await tempDir();
    const sync = new RecordingSync();
    const wal = await Wal.create(dir, { metadata: META, sync: sync.hook, segmentBytes: 400 });
    sync.segmentSyncs = 0;

    const notDurable: number[] = [];
    const saves: Promise<void>[] = [];
    for (let i = 1; i <= 100; i++) {
      saves.push(
        wal.save({ entries: [entry(i, 1)] }).then(async () => {
          if (!(await sync.durableNow(dir)).has(i)) notDurable.push(i);
        }),
      );
    }
    await Promise.all(saves);
    expect(notDurable).toEqual([]);
    // Each rollover costs a sync of the old segment and one of the new segment's head.
    expect(sync.segmentSyncs).toBeLessThan(50);
    await wal.close();
    const { wal: reopened, entries: ents } = await Wal.open(dir);
    expect(ents).toEqual(entries(1, 100, 1));
    await reopened.close();
  });

  it('refuses saves with ErrWalBackpressure while too many bytes wait for the disk', async () => {
    const dir = await tempDir();
    const sync = new RecordingSync();
    const wal = await Wal.create(dir, { metadata: META, sync: sync.hook, maxQueuedBytes: 1000 });
    const release = sync.hold();
    const started = sync.nextSync();
    const big = (i: number) => entry(i, 1, 'x'.repeat(100));

    const accepted = [wal.save({ entries: [big(1)] })];
    await started;
    let next = 2;
    let refused: unknown;
    for (; next < 100; next++) {
      const p = wal.save({ entries: [big(next)] });
      const outcome = await Promise.race([p.then(() => 'resolved', (e: unknown) => e), settle().then(() => 'pending')]);
      if (outcome === 'pending') {
        accepted.push(p);
        continue;
      }
      refused = outcome;
      break;
    }
    expect(isWalError(refused, 'ErrWalBackpressure'), String(refused)).toBe(true);
    // About 126 bytes per save: the limit lets in 1000 bytes' worth, and no more.
    expect(accepted.length).toBe(7);

    release();
    await Promise.all(accepted);
    // Once drained, saves are accepted again, the refused one included; so is one larger than the limit.
    await wal.save({ entries: [big(next)] });
    await wal.save({ entries: [entry(next + 1, 1, 'y'.repeat(5000))] });
    await wal.close();
    const { wal: reopened, entries: ents } = await Wal.open(dir);
    expect(ents.map((e) => e.index)).toEqual(Array.from({ length: next + 1 }, (_, k) => k + 1));
    await reopened.close();
  });

  it('fails every waiting and later save once a sync fails', async () => {
    const dir = await tempDir();
    let failNext = false;
    const wal = await Wal.create(dir, {
      metadata: META,
      sync: async (target) => {
        if (failNext && target.kind === 'segment') throw new Error('EIO: simulated');
        await defaultSync(target);
      },
    });
    await wal.save({ entries: [entry(1, 1)] });
    failNext = true;
    const results = await Promise.allSettled([wal.save({ entries: [entry(2, 1)] }), wal.save({ entries: [entry(3, 1)] })]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(isWalError((r as PromiseRejectedResult).reason, 'ErrWalFailed')).toBe(true);
    }
    let later: unknown;
    await wal.save({ entries: [entry(4, 1)] }).catch((e: unknown) => (later = e));
    expect(isWalError(later, 'ErrWalFailed')).toBe(true);
    await wal.close();
  });
});
