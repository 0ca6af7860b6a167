/**
 * Range as etcd answers it, on top of the store's plain range: sorting, the min/max revision
 * filters, `more` and `count`.
 *
 * etcd's rules, kept exactly because clients page with them:
 * - when a sort order is given (not NONE) or a revision filter is set, everything in the range is
 *   fetched, then filtered/sorted, then cut to `limit`; otherwise `limit + 1` are fetched so
 *   `more` is known (so a target other than KEY with order NONE sorts only those, as etcd does);
 * - `count` is the number of keys in the range at the revision, before the revision filters;
 * - a sort target other than KEY with order NONE sorts ascending (the store's natural order is
 *   by key, so only KEY+NONE can skip sorting);
 * - `more` is true when the cut removed something.
 */
import { compareKeys } from '../keys.js';
import type { KeyValue } from './key-value.js';
import { SortOrder, SortTarget, type RangeRequest, type RangeResult } from './range-request.js';

/** A store to read from: the KvStore itself, or a write transaction's view. */
export interface RangeReader {
  range(
    key: Uint8Array,
    end: Uint8Array | undefined,
    options: { revision?: number; limit?: number; countOnly?: boolean; keysOnly?: boolean },
  ): { kvs: KeyValue[]; count: number; more: boolean; revision?: number };
}

/** Runs `req` against `reader`; errors (compacted, future revision) propagate from the reader. */
export function executeRange(reader: RangeReader, req: RangeRequest): RangeResult {
  const end = req.rangeEnd.length === 0 ? undefined : req.rangeEnd;
  let sortOrder = req.sortOrder;
  if (req.sortTarget !== SortTarget.KEY && sortOrder === SortOrder.NONE) sortOrder = SortOrder.ASCEND;
  const filtering =
    req.minModRevision !== 0 || req.maxModRevision !== 0 || req.minCreateRevision !== 0 || req.maxCreateRevision !== 0;
  const needAll = req.sortOrder !== SortOrder.NONE || filtering;
  let fetchLimit = needAll ? 0 : req.limit;
  if (fetchLimit > 0) fetchLimit += 1;

  // Values are needed to sort by value; etcd strips them only after sorting.
  const sortsByValue = sortOrder !== SortOrder.NONE && req.sortTarget === SortTarget.VALUE;
  const options: { revision?: number; limit?: number; countOnly?: boolean; keysOnly?: boolean } = {
    limit: fetchLimit,
    countOnly: req.countOnly,
    keysOnly: req.keysOnly && !sortsByValue,
  };
  if (req.revision > 0) options.revision = req.revision;
  const read = reader.range(req.key, end, options);
  if (req.countOnly) return { kvs: [], more: false, count: read.count };

  let kvs = read.kvs;
  if (filtering) kvs = kvs.filter((kv) => passesFilters(kv, req));
  if (sortOrder !== SortOrder.NONE && !(req.sortTarget === SortTarget.KEY && sortOrder === SortOrder.ASCEND)) {
    const cmp = comparatorFor(req.sortTarget);
    kvs = [...kvs].sort(sortOrder === SortOrder.DESCEND ? (a, b) => cmp(b, a) : cmp);
  }
  let more = false;
  if (req.limit > 0 && kvs.length > req.limit) {
    kvs = kvs.slice(0, req.limit);
    more = true;
  }
  if (req.keysOnly && sortsByValue) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
  return { kvs, more, count: read.count };
}

const EMPTY = new Uint8Array(0);

function passesFilters(kv: KeyValue, req: RangeRequest): boolean {
  if (req.maxModRevision !== 0 && kv.modRevision > req.maxModRevision) return false;
  if (req.minModRevision !== 0 && kv.modRevision < req.minModRevision) return false;
  if (req.maxCreateRevision !== 0 && kv.createRevision > req.maxCreateRevision) return false;
  if (req.minCreateRevision !== 0 && kv.createRevision < req.minCreateRevision) return false;
  return true;
}

function comparatorFor(target: number): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case SortTarget.VERSION:
      return (a, b) => a.version - b.version;
    case SortTarget.CREATE:
      return (a, b) => a.createRevision - b.createRevision;
    case SortTarget.MOD:
      return (a, b) => a.modRevision - b.modRevision;
    case SortTarget.VALUE:
      return (a, b) => compareKeys(a.value, b.value);
    default:
      return (a, b) => compareKeys(a.key, b.key);
  }
}
