/**
 * The revision history of one key.
 *
 * A key lives through a sequence of generations. A generation starts with the put that creates
 * the key, collects every later put, and ends with the tombstone that deletes it; the tombstone
 * then opens a new, empty generation that the next put fills. The last generation is therefore
 * always the current one: empty while the key does not exist, otherwise holding the live
 * history. Every earlier generation ends with its tombstone.
 *
 * Worked example: put@2, put@4, delete@6, put@8, put@10, delete@12, put@14, put@16 gives
 *
 *   modified: 16
 *   g0  created 2   version 3  revisions [2, 4, 6t]
 *   g1  created 8   version 3  revisions [8, 10, 12t]
 *   g2  created 14  version 2  revisions [14, 16]        (current)
 *
 * and reads see:
 *
 *   get(1)  not found (before the first put)     get(7)  not found (deleted at 6)
 *   get(2)  mod 2,  created 2, version 1          get(8)  mod 8,  created 8,  version 1
 *   get(5)  mod 4,  created 2, version 2          get(12) not found (deleted at 12)
 *   get(6)  not found (a tombstone hides itself)  get(99) mod 16, created 14, version 2
 *
 * `version` counts the changes appended to a generation, tombstone included, and is never
 * decreased by compaction, so the version of the n-th kept revision is
 * `version - (revisions.length - 1 - n)` however much history has been compacted away.
 *
 * Revisions are compared as (main, sub) pairs when written and by `main` alone when read,
 * because readers name store revisions, and all changes of one request become visible at once.
 */
import { MvccError } from './errors.js';
import {
  type Revision,
  RevisionSet,
  ZERO_REVISION,
  assertRevision,
  compareRevisions,
  formatRevision,
} from './revision.js';

/** One life of a key, from the put that created it to the tombstone that deleted it. */
export interface Generation {
  /** The revision that created the key; kept even when compaction drops that revision. */
  readonly created: Revision;
  /** Changes ever appended to this generation (tombstone included); compaction keeps it. */
  readonly version: number;
  /** The changes still indexed, oldest first; in a finished generation the last is the tombstone. */
  readonly revisions: readonly Revision[];
}

/** What a read at some store revision sees of a key. */
export type KeyIndexGetResult =
  | {
      readonly found: true;
      /** The change that wrote the visible value. */
      readonly modified: Revision;
      /** The change that created the key in the visible generation. */
      readonly created: Revision;
      /** 1 for the creating put, +1 per later put. */
      readonly version: number;
    }
  | { readonly found: false };

const NOT_FOUND: KeyIndexGetResult = Object.freeze({ found: false });

interface MutableGeneration {
  created: Revision;
  version: number;
  revisions: Revision[];
}

export class KeyIndex {
  private lastModified: Revision = ZERO_REVISION;
  private gens: MutableGeneration[] = [emptyGeneration()];

  /** @param key the key this history belongs to; only used in error messages. */
  constructor(readonly key: Uint8Array = new Uint8Array(0)) {}

  /** The latest change to the key (a put or a tombstone); ZERO_REVISION before the first. */
  get modified(): Revision {
    return this.lastModified;
  }

  /** The generations, oldest first; the last is the current one (empty if deleted). */
  get generations(): readonly Generation[] {
    return this.gens;
  }

  /**
   * True if the index holds nothing: no history and no live key. The tree drops such an index,
   * which happens when compaction removes all generations of a deleted key.
   */
  isEmpty(): boolean {
    return this.gens.length === 1 && this.gens[0]!.revisions.length === 0;
  }

  /** True if the key currently exists (its current generation is not empty). */
  isLive(): boolean {
    return this.current().revisions.length > 0;
  }

  /**
   * Records a put at `rev`, creating the key if it does not exist. Throws
   * `ErrMvccRevisionOrder` unless `rev` is after {@link modified}.
   */
  put(rev: Revision): void {
    this.checkOrder(rev);
    const g = this.current();
    const copy = { main: rev.main, sub: rev.sub };
    if (g.revisions.length === 0) g.created = copy;
    g.revisions.push(copy);
    g.version++;
    this.lastModified = copy;
  }

  /**
   * Records a delete at `rev`: appends the tombstone to the current generation and opens a new
   * empty one. Throws `ErrMvccRevisionNotFound` if the key does not exist (nothing to delete)
   * and `ErrMvccRevisionOrder` unless `rev` is after {@link modified}.
   */
  tombstone(rev: Revision): void {
    if (!this.isLive()) {
      throw new MvccError('ErrMvccRevisionNotFound', `tombstone at ${formatRevision(rev)}: key ${showKey(this.key)} does not exist`);
    }
    this.put(rev);
    this.gens.push(emptyGeneration());
  }

  /**
   * What a read at store revision `atRev` sees: the latest put with `main <= atRev`, unless
   * the key was deleted at or before `atRev` after it. See the worked example at the top of
   * this file.
   */
  get(atRev: number): KeyIndexGetResult {
    const gi = this.findGeneration(atRev);
    if (gi < 0) return NOT_FOUND;
    const g = this.gens[gi]!;
    const n = lastAtOrBefore(g.revisions, atRev);
    if (n < 0) return NOT_FOUND;
    return {
      found: true,
      modified: g.revisions[n]!,
      created: g.created,
      version: g.version - (g.revisions.length - 1 - n),
    };
  }

  /**
   * The indexed changes with `main >= rev`, oldest first, as a watch started at `rev` replays
   * them (a watch's start revision is inclusive, as in etcd). When one request changed the key
   * more than once only its last change is returned, since clients only ever see the final
   * state of a request.
   *
   * Example (history of the file comment): since(10) = [10, 12t, 14, 16]; since(13) = [14, 16].
   */
  since(rev: number): Revision[] {
    // Skip whole generations that ended before `rev`, scanning back from the current one.
    let gi = this.gens.length - 1;
    while (gi > 0) {
      const prev = this.gens[gi - 1]!.revisions;
      if (prev.length === 0 || prev[prev.length - 1]!.main < rev) break;
      gi--;
    }
    const out: Revision[] = [];
    for (; gi < this.gens.length; gi++) {
      for (const r of this.gens[gi]!.revisions) {
        if (r.main < rev) continue;
        if (out.length > 0 && out[out.length - 1]!.main === r.main) out[out.length - 1] = r;
        else out.push(r);
      }
    }
    return out;
  }

  /**
   * Compacts the history at store revision `atRev`: afterwards the index answers reads at
   * `atRev` and later exactly as before, and forgets everything only older reads could see.
   * Adds to `available` (and returns it) the revisions at or below `atRev` that the backend
   * must keep; every other backend revision at or below `atRev` of this key may be deleted.
   *
   * Rules:
   * 1. A generation whose tombstone has `main <= atRev` is dropped whole, tombstone included:
   *    at `atRev` the key is already deleted there, and "absent" needs no record.
   * 2. In the first remaining generation (the one alive at `atRev`, or created after it) the
   *    largest revision with `main <= atRev` is kept and added to `available`, because it is
   *    the value a read at `atRev` sees; older revisions of that generation are dropped. By
   *    rule 1 that revision is never a tombstone. `created` and `version` are kept.
   * 3. Revisions above `atRev` are untouched and not reported (the backend only compacts at
   *    or below `atRev`).
   * 4. If only the empty current generation remains, {@link isEmpty} turns true and the tree
   *    removes the key.
   *
   * Worked example (history of the file comment; "keep" is what `available` receives):
   *
   *   compact(1)   keep {}     g0 [2, 4, 6t]  g1 [8, 10, 12t]  g2 [14, 16]   (nothing <= 1)
   *   compact(3)   keep {2}    g0 [2, 4, 6t]  g1 ...           g2 ...
   *   compact(5)   keep {4}    g0 [4, 6t]     g1 ...           g2 ...
   *   compact(6)   keep {}     g1 [8, 10, 12t]  g2 [14, 16]    (g0 ended at 6; 6t dropped)
   *   compact(7)   keep {}     same as compact(6)
   *   compact(11)  keep {10}   g1 [10, 12t]   g2 [14, 16]
   *   compact(12)  keep {}     g2 [14, 16]
   *   compact(15)  keep {14}   g2 [14, 16]
   *   compact(16)  keep {16}   g2 [16]                          (live key: latest value kept)
   *   compact(99)  keep {16}   g2 [16]
   *
   * After a further delete@18 (g2 [14, 16, 18t], g3 empty), compact(17) keeps {16} and
   * leaves g2 [16, 18t]; compact(18) keeps {} and leaves only the empty g3, so the index is
   * empty and the key disappears from the tree.
   */
  compact(atRev: number, available: RevisionSet = new RevisionSet()): RevisionSet {
    const { gi, ri } = this.compactionPoint(atRev);
    const g = this.gens[gi]!;
    if (ri >= 0) {
      available.add(g.revisions[ri]!);
      if (ri > 0) g.revisions = g.revisions.slice(ri);
    }
    if (gi > 0) this.gens = this.gens.slice(gi);
    return available;
  }

  /**
   * Adds to `available` (and returns it) the revisions {@link compact} at `atRev` would keep,
   * without changing the index; a store uses it to check a compaction that was interrupted.
   */
  keep(atRev: number, available: RevisionSet = new RevisionSet()): RevisionSet {
    const { gi, ri } = this.compactionPoint(atRev);
    if (ri >= 0) available.add(this.gens[gi]!.revisions[ri]!);
    return available;
  }

  /**
   * Where compaction at `atRev` cuts: `gi` is the first generation that survives (rule 1) and
   * `ri` the index in it of the largest revision with `main <= atRev`, or -1 if none.
   */
  private compactionPoint(atRev: number): { gi: number; ri: number } {
    let gi = 0;
    // Every generation but the last ends with its tombstone.
    while (gi < this.gens.length - 1) {
      const revs = this.gens[gi]!.revisions;
      if (revs[revs.length - 1]!.main > atRev) break;
      gi++;
    }
    return { gi, ri: lastAtOrBefore(this.gens[gi]!.revisions, atRev) };
  }

  /**
   * The index of the generation a read at `atRev` falls in, or -1 if the key did not exist at
   * `atRev` (before its first put, or between a tombstone and the next put).
   */
  private findGeneration(atRev: number): number {
    const last = this.gens.length - 1;
    for (let gi = last; gi >= 0; gi--) {
      const revs = this.gens[gi]!.revisions;
      if (revs.length === 0) continue;
      // A finished generation is invisible from its tombstone on, and so are all older ones.
      if (gi !== last && revs[revs.length - 1]!.main <= atRev) return -1;
      if (revs[0]!.main <= atRev) return gi;
    }
    return -1;
  }

  private current(): MutableGeneration {
    return this.gens[this.gens.length - 1]!;
  }

  private checkOrder(rev: Revision): void {
    assertRevision(rev);
    if (compareRevisions(rev, this.lastModified) <= 0) {
      throw new MvccError(
        'ErrMvccRevisionOrder',
        `key ${showKey(this.key)}: ${formatRevision(rev)} is not after ${formatRevision(this.lastModified)}`,
      );
    }
  }
}

function emptyGeneration(): MutableGeneration {
  return { created: ZERO_REVISION, version: 0, revisions: [] };
}

/** Index of the last revision with `main <= atRev` in ascending `revs`, or -1 (binary search). */
function lastAtOrBefore(revs: readonly Revision[], atRev: number): number {
  let lo = 0;
  let hi = revs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (revs[mid]!.main <= atRev) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** A key for an error message: text if printable ASCII, hex otherwise. */
export function showKey(key: Uint8Array): string {
  const printable = key.every((b) => b >= 0x20 && b < 0x7f);
  return printable ? JSON.stringify(Buffer.from(key).toString('latin1')) : `0x${Buffer.from(key).toString('hex')}`;
}
