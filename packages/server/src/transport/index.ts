export { PeerTransport, type PeerTransportOptions } from './peer-transport.js';
export { type TransportLogger, SILENT_LOGGER } from './logger.js';
export { Backoff, type BackoffOptions } from './backoff.js';
export { BoundedQueue } from './bounded-queue.js';
export {
  encodeMessage,
  decodeMessage,
  encodeBatch,
  decodeBatch,
  encodeSnapshotChunk,
  decodeSnapshotChunk,
  type SnapshotChunk,
} from './raft-codec.js';
export {
  PEER_METHODS,
  SENDER_ID_KEY,
  CLUSTER_ID_KEY,
  identityMetadata,
  readIdentity,
  grpcTarget,
  type CallerIdentity,
} from './peer-service.js';
export { raftProtoPath } from './proto-file.js';
export * from './tuning.js';
