export * as raft from './raft/index.js';
export * as wal from './wal/index.js';
export * as mvcc from './mvcc/index.js';
export * as backend from './backend/index.js';
