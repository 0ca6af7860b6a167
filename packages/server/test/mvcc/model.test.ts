import { describe, expect, it } from 'vitest';
import type { KeyIndexGetResult } from '../../src/mvcc/key-index.js';
import { type Revision, compareRevisions } from '../../src/mvcc/revision.js';
import { TreeIndex } from '../../src/mvcc/tree-index.js';
import { rng } from './helpers.js';

interface Change {
  readonly rev: Revision;
  readonly tombstone: boolean;
}

/** The obvious implementation: full history per key, never compacted, scanned linearly. */
class Model {
  readonly history = new Map<string, Change[]>();

  apply(key: Uint8Array, rev: Revision, tombstone: boolean): void {
    const h = hex(key);
    const list = this.history.get(h) ?? [];
    list.push({ rev, tombstone });
    this.history.set(h, list);
  }

  live(key: Uint8Array): boolean {
    const list = this.history.get(hex(key));
    return list !== undefined && list.length > 0 && !list[list.length - 1]!.tombstone;
  }

  get(h: string, at: number): KeyIndexGetResult {
    const list = this.history.get(h) ?? [];
    let created: Revision | undefined;
    let version = 0;
    let modified: Revision | undefined;
    for (const c of list) {
      if (c.rev.main > at) break;
      if (c.tombstone) {
        created = undefined;
        modified = undefined;
        version = 0;
        continue;
      }
      created ??= c.rev;
      version++;
      modified = c.rev;
    }
    return modified === undefined || created === undefined ? { found: false } : { found: true, modified, created, version };
  }

  keysIn(start: Uint8Array, end: Uint8Array | undefined): string[] {
    return [...this.history.keys()]
      .filter((h) => {
        const key = Buffer.from(h, 'hex');
        if (end === undefined || end.length === 0) return Buffer.compare(key, start) === 0;
        if (Buffer.compare(key, start) < 0) return false;
        return (end.length === 1 && end[0] === 0) || Buffer.compare(key, end) < 0;
      })
      .sort((a, c) => Buffer.compare(Buffer.from(a, 'hex'), Buffer.from(c, 'hex')));
  }

  range(start: Uint8Array, end: Uint8Array | undefined, at: number, limit: number): { keys: string[]; results: KeyIndexGetResult[]; more: boolean } {
    const visible = this.keysIn(start, end)
      .map((h) => [h, this.get(h, at)] as const)
      .filter(([, g]) => g.found);
    const cut = limit > 0 ? visible.slice(0, limit) : visible;
    return { keys: cut.map(([h]) => h), results: cut.map(([, g]) => g), more: cut.length < visible.length };
  }

  since(start: Uint8Array, end: Uint8Array | undefined, rev: number): string[] {
    const out: Array<[string, Revision]> = [];
    for (const h of this.keysIn(start, end)) {
      const list = this.history.get(h)!.filter((c) => c.rev.main >= rev);
      // One change per request: the last one.
      list.forEach((c, i) => {
        if (i + 1 < list.length && list[i + 1]!.rev.main === c.rev.main) return;
        out.push([h, c.rev]);
      });
    }
    return out.sort((a, c) => compareRevisions(a[1], c[1])).map(([h, r]) => `${h}@${String(r.main)}.${String(r.sub)}`);
  }

  /** What compaction at `at` must keep: the visible revision of every key visible at `at`. */
  keep(at: number): string[] {
    const out: Revision[] = [];
    for (const h of this.history.keys()) {
      const g = this.get(h, at);
      if (g.found) out.push(g.modified);
    }
    return out.sort(compareRevisions).map(fmt);
  }

  /** Keys the index must still hold after compacting at `at`. */
  retained(at: number): string[] {
    return [...this.history.keys()]
      .filter((h) => this.get(h, at).found || this.history.get(h)!.some((c) => c.rev.main > at))
      .sort();
  }
}

function hex(key: Uint8Array): string {
  return Buffer.from(key).toString('hex');
}

function fmt(r: Revision): string {
  return `${String(r.main)}.${String(r.sub)}`;
}

/** Short keys over bytes chosen to sit on boundaries, so ordering bugs show up. */
const ALPHABET = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

function randomKey(next: () => number): Uint8Array {
  const len = Math.floor(next() * 4);
  return Uint8Array.from({ length: len }, () => ALPHABET[Math.floor(next() * ALPHABET.length)]!);
}

function randomEnd(next: () => number, start: Uint8Array): Uint8Array | undefined {
  const p = next();
  if (p < 0.2) return undefined;
  if (p < 0.35) return Uint8Array.of(0);
  if (p < 0.45) return Uint8Array.of(...start, 0x00); // just the key itself
  return randomKey(next);
}

function runModel(seed: number, requests: number, maxNodeSize: number): void {
  const next = rng(seed);
  const ti = new TreeIndex({ maxNodeSize });
  const model = new Model();
  let current = 0;
  let compacted = 0;

  for (let step = 0; step < requests; step++) {
    // One request: a revision with 1..3 changes to distinct keys, or a delete range.
    const main = current + 1;
    let sub = 0;
    if (next() < 0.15) {
      const start = randomKey(next);
      const end = randomEnd(next, start);
      const live = model.keysIn(start, end).filter((h) => model.live(Buffer.from(h, 'hex')));
      for (const h of live) {
        const key = Buffer.from(h, 'hex');
        const rev = { main, sub: sub++ };
        ti.tombstone(key, rev);
        model.apply(key, rev, true);
      }
    } else {
      const used = new Set<string>();
      const n = 1 + Math.floor(next() * 3);
      for (let i = 0; i < n; i++) {
        const key = randomKey(next);
        if (used.has(hex(key))) continue;
        used.add(hex(key));
        const rev = { main, sub: sub++ };
        if (next() < 0.25) {
          if (model.live(key)) {
            ti.tombstone(key, rev);
            model.apply(key, rev, true);
          } else {
            expect(() => ti.tombstone(key, rev)).toThrow(expect.objectContaining({ code: 'ErrMvccRevisionNotFound' }));
            sub--;
          }
        } else {
          ti.put(key, rev);
          model.apply(key, rev, false);
        }
      }
    }
    if (sub > 0) current = main;

    if (next() < 0.03 && current > compacted) {
      const at = compacted + Math.floor(next() * (current - compacted + 1));
      const keep = ti.keep(at).sorted().map(fmt);
      expect(keep).toEqual(model.keep(at));
      expect(ti.compact(at).sorted().map(fmt)).toEqual(keep);
      compacted = at;
      const left = model.retained(at);
      expect(ti.size).toBe(left.length);
      expect(left.every((h) => ti.keyIndex(Buffer.from(h, 'hex')) !== undefined)).toBe(true);
    }

    // A read at a revision the store would still serve (at or after the compaction).
    const at = compacted + Math.floor(next() * (current - compacted + 2));
    const start = randomKey(next);
    const end = randomEnd(next, start);
    const limit = next() < 0.5 ? 0 : 1 + Math.floor(next() * 5);
    const got = ti.range(start, end, at, { limit });
    const want = model.range(start, end, at, limit);
    const context = `seed ${String(seed)} step ${String(step)} at ${String(at)} range ${hex(start)}..${end === undefined ? '-' : hex(end)} limit ${String(limit)}`;
    expect(got.entries.map((e) => hex(e.key)), context).toEqual(want.keys);
    expect(
      got.entries.map((e) => ({ found: true, modified: e.modified, created: e.created, version: e.version })),
      context,
    ).toEqual(want.results);
    expect(got.more, context).toBe(want.more);
    expect(ti.countRevisions(start, end, at), context).toBe(model.range(start, end, at, 0).keys.length);
    expect(ti.get(start, at), context).toEqual(model.get(hex(start), at));

    // Watch replay from strictly after the compaction, where no change has been dropped.
    if (step % 7 === 0 && current > compacted) {
      const from = compacted + 1 + Math.floor(next() * (current - compacted));
      expect(ti.rangeSince(start, end, from).map((x) => `${hex(x.key)}@${fmt(x.revision)}`), context).toEqual(model.since(start, end, from));
    }
  }
}

describe('TreeIndex against a full-history model', () => {
  it.each([
    [1, 4],
    [2, 5],
    [3, 64],
    [20240601, 8],
  ])('seed %i, node size %i', (seed, size) => {
    runModel(seed, 3000, size);
  });
});
