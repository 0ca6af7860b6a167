export * from './random.js';
export * from './etcd-errors.js';
export * from './keys.js';
