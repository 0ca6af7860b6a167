export * from './random.js';
export * from './etcd-errors.js';
export * from './keys.js';
export * as proto from './proto/index.js';
export * from './kv/index.js';
export * from './watchcache/index.js';
export * from './watch/index.js';
export * from './net/index.js';
export * from './gateway/index.js';
