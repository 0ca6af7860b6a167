// Keyspace reading shared by members and proxies: the KeyValue record, Range semantics, the B+tree.
export * from './key-value.js';
export * from './range-request.js';
export * from './execute-range.js';
export * from './btree.js';
export * from './kv-event.js';
