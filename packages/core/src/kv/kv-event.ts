import type { KeyValue } from './key-value.js';

/** One change to one key, as stores record it, caches hold it and watches report it. */
export interface KvEvent {
  readonly type: 'put' | 'delete';
  /** The new record; for a delete only `key` and `modRevision` are meaningful. */
  readonly kv: KeyValue;
  /** The key's value before the change, if it existed (and was asked for). */
  readonly prevKv?: KeyValue;
}
