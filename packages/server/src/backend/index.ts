export {
  MAX_BUCKET_NAME_BYTES,
  MAX_KEY_BYTES,
  MAX_BOUND_BYTES,
  type Backend,
  type BackendKind,
  type KeyValue,
  type RangeOptions,
  type ReadView,
  type RestoreResult,
  type WriteTxn,
} from './backend.js';
export { BackendError, isBackendError, type BackendErrorCode } from './errors.js';
export { MemoryBackend } from './memory-backend.js';
export { LmdbBackend, type LmdbBackendOptions } from './lmdb-backend.js';
export { openBackend, type OpenBackendOptions } from './open-backend.js';
export { decodeSnapshot, encodeSnapshot, hashView, scanView, type BucketEntry } from './snapshot-format.js';
