export {
  type Revision,
  type DecodedRevision,
  type EncodeRevisionOptions,
  ZERO_REVISION,
  REVISION_BYTES,
  TOMBSTONE_REVISION_BYTES,
  REVISION_SEPARATOR,
  TOMBSTONE_MARKER,
  revision,
  isValidRevision,
  assertRevision,
  compareRevisions,
  revisionGreaterThan,
  revisionEquals,
  formatRevision,
  encodeRevision,
  decodeRevision,
  RevisionSet,
} from './revision.js';
export { KeyIndex, type Generation, type KeyIndexGetResult } from './key-index.js';
export {
  TreeIndex,
  type TreeIndexOptions,
  type RangeOptions,
  type RangeResult,
  type IndexEntry,
  type KeyRevision,
} from './tree-index.js';
export { MvccError, isMvccError, type MvccErrorCode } from './errors.js';
export { type KeyValue, KV_RECORD_FORMAT, encodeKeyValue, decodeKeyValue } from './kv-record.js';
export {
  KEY_BUCKET,
  META_BUCKET,
  META_CONSISTENT_INDEX,
  META_CONSISTENT_TERM,
  META_FINISHED_COMPACT_REV,
  META_SCHEDULED_COMPACT_REV,
} from './store-meta.js';
export { KvStore, type ConsistentIndex, type KvEvent, type WriteResult, type BatchWrite, type BatchOutcome } from './kv-store.js';
export { type ReadOptions, type RangeOptions as KvRangeOptions, type RangeResult as KvRangeResult } from './kv-read.js';
export { type KvWriteTxn, type PutOptions } from './kv-write-txn.js';
export { COMPACT_BATCH_LIMIT } from './kv-compaction.js';
export { type HashKvResult } from './kv-hash.js';
export { type HistoryOptions, type HistoryResult } from './kv-history.js';
