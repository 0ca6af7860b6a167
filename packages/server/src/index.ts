export * as raft from './raft/index.js';
export * as wal from './wal/index.js';
