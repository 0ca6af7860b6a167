/**
 * Compaction (etcd's kvstore_compaction.go): recorded durably first, so a crash in the middle is
 * resumed on the next open; then the records no read at or above the revision can see are
 * deleted in bounded batches.
 */
import { failpointsOn, hexOf, hit, keySuccessor } from '@kvfleet/core';
import type { Backend } from '../backend/backend.js';
import { scanRecords } from './kv-read.js';
import { decodeRevision, encodeRevision } from './revision.js';
import { KEY_BUCKET, META_BUCKET, META_FINISHED_COMPACT_REV, META_REPLAYABLE_COMPACT_REV, META_SCHEDULED_COMPACT_REV, encodeU64 } from './store-meta.js';
import type { TreeIndex } from './tree-index.js';

/** Records deleted per backend batch during compaction: bounds batch size and pause length. */
export const COMPACT_BATCH_LIMIT = 1000;

/**
 * Makes the compaction at `rev` durable before anything is deleted, with `replayable`
 * ({@link keepsWholeRevision}) in the same batch, so a resumed compaction, whose first pass may
 * already have deleted a tombstone at `rev`, keeps the answer of the original one.
 */
export async function scheduleCompaction(backend: Backend, rev: number, replayable: boolean): Promise<void> {
  await backend.batch((b) => {
    b.put(META_BUCKET, META_SCHEDULED_COMPACT_REV, encodeU64(rev));
    b.put(META_BUCKET, META_REPLAYABLE_COMPACT_REV, encodeU64(replayable ? rev : 0));
  });
}

/** Compacts the index at `rev` and deletes the records it no longer needs, then records the compaction finished. */
export async function deleteCompacted(backend: Backend, index: TreeIndex, rev: number): Promise<void> {
  // Between recording the compaction and deleting anything: a crash here is resumed on open.
  if (failpointsOn) await hit('compactBeforeDelete');
  const keep = index.compact(rev);
  const lt = encodeRevision({ main: rev + 1, sub: 0 });
  let gte: Uint8Array | undefined;
  for (;;) {
    const next: Uint8Array | undefined = await backend.batch((b) => {
      const page = b.range(KEY_BUCKET, { gte, lt, limit: COMPACT_BATCH_LIMIT });
      for (const { key } of page) {
        if (!keep.has(decodeRevision(key).revision)) b.delete(KEY_BUCKET, key);
      }
      // Continue right after the last key seen: appending 0x00 gives its successor.
      return page.length < COMPACT_BATCH_LIMIT ? undefined : keySuccessor(page[page.length - 1]!.key);
    });
    if (next === undefined) break;
    gte = next;
  }
  await backend.batch((b) => b.put(META_BUCKET, META_FINISHED_COMPACT_REV, encodeU64(rev)));
}

/**
 * Whether compaction at `rev` keeps every record with main revision `rev`, so that history
 * from `rev` itself stays complete: true iff revision `rev` holds no tombstone and changes
 * no key twice. Must run before that compaction deletes anything.
 *
 * Proof, by key-index.ts's compaction rules. Take a record (k, rev.s).
 * - If it is a put and the last change of k in revision `rev`, it is kept: every other change
 *   of k with main <= rev is older than it. Its generation's tombstone, if any, comes after it
 *   and so has main > rev, so rule 1 does not drop that generation, while every older
 *   generation ended with an older tombstone (main <= rev) and is dropped: it is the first
 *   remaining generation, and in it the record is the largest revision with main <= rev,
 *   which rule 2 keeps.
 * - A tombstone at `rev` is dropped (rule 1), and so is a put followed in the same revision by
 *   another change of k (rule 1 if that change is a tombstone, else rule 2 keeps the later put).
 * Compaction deletes nothing above `rev`, earlier compactions deleted nothing above theirs
 * (below `rev`), and writes only add records above the current revision; until the next
 * compaction replaces this answer, bucket `key` therefore holds every change made at `rev`
 * and after, which is exactly what history from `rev` reads. etcd keeps the tombstone where
 * rule 1 drops it; that case (the only one the API can produce: it refuses a txn changing a
 * key twice, as etcd does) answers false and history then starts at `rev` + 1.
 */
export function keepsWholeRevision(backend: Backend, rev: number): boolean {
  const view = backend.readTxn();
  try {
    const seen = new Set<string>();
    const gte = encodeRevision({ main: rev, sub: 0 });
    const lt = encodeRevision({ main: rev + 1, sub: 0 });
    for (const { tombstone, kv } of scanRecords(view, gte, lt)) {
      const h = hexOf(kv.key);
      if (tombstone || seen.has(h)) return false;
      seen.add(h);
    }
    return true;
  } finally {
    view.release();
  }
}
