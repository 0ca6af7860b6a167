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
export { BTree, compareKeys, type BTreeOptions } from './btree.js';
export { MvccError, isMvccError, type MvccErrorCode } from './errors.js';
