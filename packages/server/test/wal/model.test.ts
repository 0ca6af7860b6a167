import { SeededRandom } from '@kvfleet/core';
import { describe, expect, it } from 'vitest';
import { EMPTY_HARD_STATE, type Entry, type HardState } from '../../src/raft/types.js';
import { Wal } from '../../src/wal/wal.js';
import { entry, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

/** Seeded, so a failure replays from its seed. */
function rng(seed: number): (n: number) => number {
  const r = new SeededRandom(seed);
  return (n) => r.int(n);
}

/** What replay must return, kept the simple way: the entries after the snapshot, in an array. */
interface Model {
  snapshot: { index: number; term: number } | undefined;
  live: Entry[];
  hardState: HardState;
  term: number;
}

function lastIndex(m: Model): number {
  return m.live[m.live.length - 1]?.index ?? m.snapshot?.index ?? 0;
}

describe('Wal against a model', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`replays what was saved through appends, rewrites, snapshots, releases and restarts (seed ${seed})`, async () => {
      const rand = rng(seed);
      const dir = await tempDir();
      const options = { segmentBytes: 100 + rand(400) };
      let wal = await Wal.create(dir, { metadata: new Uint8Array([seed]), ...options });
      let released = 0;
      const m: Model = { snapshot: undefined, live: [], hardState: EMPTY_HARD_STATE, term: 1 };
      for (let step = 0; step < 300; step++) {
        const op = rand(100);
        const last = lastIndex(m);
        const snapIndex = m.snapshot?.index ?? 0;
        if (op < 50) {
          const fresh = Array.from({ length: 1 + rand(4) }, (_, k) => entry(last + 1 + k, m.term, 'd'.repeat(rand(30))));
          const hs = rand(2) === 0 ? { term: m.term, vote: rand(5), commit: last } : undefined;
          await wal.save({ entries: fresh, ...(hs === undefined ? {} : { hardState: hs }) });
          m.live.push(...fresh);
          if (hs !== undefined) m.hardState = hs;
        } else if (op < 65 && last > snapIndex) {
          m.term++;
          const from = snapIndex + 1 + rand(last - snapIndex);
          const fresh = Array.from({ length: 1 + rand(3) }, (_, k) => entry(from + k, m.term));
          await wal.save({ entries: fresh });
          m.live = [...m.live.filter((e) => e.index < from), ...fresh];
        } else if (op < 75) {
          const index = snapIndex + rand(last - snapIndex + 3);
          const term = index <= last ? (m.live.find((e) => e.index === index)?.term ?? m.snapshot?.term ?? 0) : m.term;
          await wal.saveSnapshotMarker({ index, term });
          m.snapshot = { index, term };
          m.live = m.live.filter((e) => e.index > index);
        } else if (op < 88) {
          released += (await wal.releaseTo(rand(last + 2))).length;
        } else if (op < 93) {
          const hs = { term: m.term, vote: rand(5), commit: rand(last + 1) };
          await wal.save({ entries: [], hardState: hs });
          m.hardState = hs;
        } else {
          await wal.close();
          const opened = await Wal.open(dir, options);
          expect(opened.entries, `step ${step}`).toEqual(m.live);
          expect(opened.snapshot, `step ${step}`).toEqual(m.snapshot);
          expect(opened.hardState, `step ${step}`).toEqual(m.hardState);
          wal = opened.wal;
        }
      }
      await wal.close();
      const final = await Wal.open(dir, options);
      expect(final.entries).toEqual(m.live);
      expect(final.snapshot).toEqual(m.snapshot);
      expect(final.hardState).toEqual(m.hardState);
      expect(final.metadata).toEqual(new Uint8Array([seed]));
      expect(released).toBeGreaterThan(0);
      await final.wal.close();
    });
  }
});
