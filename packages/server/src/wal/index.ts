export { Wal, type WalOptions, type WalCreateOptions, type SaveRequest, type TailRepair, type WalOpenResult } from './wal.js';
export { WalError, WalCorruptError, isWalError, type WalErrorCode } from './errors.js';
export {
  RecordType,
  FRAME_HEADER_BYTES,
  encodeRecord,
  decodeRecord,
  readFrame,
  type SnapshotMarker,
  type WalRecord,
  type FrameResult,
  type DecodeResult,
} from './record.js';
export { segmentName, parseSegmentName, type SegmentId } from './segment.js';
export { defaultSync, type SyncHook, type SyncTarget } from './sync.js';
