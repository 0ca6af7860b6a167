export * as raft from './raft/index.js';
