export * from './types.js';
export * from './errors.js';
export type { LogStorage, HardStateStorage, RaftStorage } from './storage.js';
export { MemoryStorage } from './memory-storage.js';
export { RaftNode, type Ready, type Status, type LogView } from './raft-node.js';
export { CAMPAIGN_TRANSFER, type RaftConfig, type TestingBugs, type OutgoingMessage } from './raft.js';
export { encodeConfChange, decodeConfChange, applyConfChange } from './confchange.js';
export { bootstrapState } from './bootstrap.js';
export { describeMessage, describeEntry, describeReady } from './describe.js';
