/**
 * Txn guards as etcd evaluates them. A compare over a range holds only if it holds for every
 * key in the range. A compare on a key that does not exist is made against a zero KeyValue
 * (version, create and mod revision 0, lease 0), except a VALUE compare, which fails: protobuf
 * cannot tell a missing value from an empty one, so etcd refuses to guess.
 */
import { compareKeys } from '@kvfleet/core';
import type { KeyValue } from '../mvcc/kv-record.js';
import type { RangeReader } from '@kvfleet/core';
import { CompareResult, CompareTarget, type Compare } from './requests.js';

const ZERO_KV: KeyValue = {
  key: new Uint8Array(0),
  createRevision: 0,
  modRevision: 0,
  version: 0,
  value: new Uint8Array(0),
  lease: 0,
};

/** True if every compare holds against `reader`. */
export function compareAll(reader: RangeReader, compares: readonly Compare[]): boolean {
  for (const c of compares) if (!applyCompare(reader, c)) return false;
  return true;
}

function applyCompare(reader: RangeReader, c: Compare): boolean {
  const end = c.rangeEnd.length === 0 ? undefined : c.rangeEnd;
  const { kvs } = reader.range(c.key, end, {});
  if (kvs.length === 0) {
    if (c.target === CompareTarget.VALUE) return false;
    return compareKv(c, ZERO_KV);
  }
  return kvs.every((kv) => compareKv(c, kv));
}

function compareKv(c: Compare, kv: KeyValue): boolean {
  let order: number;
  switch (c.target) {
    case CompareTarget.VALUE:
      order = compareKeys(kv.value, c.value);
      break;
    case CompareTarget.CREATE:
      order = Math.sign(kv.createRevision - c.createRevision);
      break;
    case CompareTarget.MOD:
      order = Math.sign(kv.modRevision - c.modRevision);
      break;
    case CompareTarget.LEASE:
      order = Math.sign(kv.lease - c.lease);
      break;
    default:
      order = Math.sign(kv.version - c.version);
  }
  switch (c.result) {
    case CompareResult.EQUAL:
      return order === 0;
    case CompareResult.NOT_EQUAL:
      return order !== 0;
    case CompareResult.GREATER:
      return order > 0;
    case CompareResult.LESS:
      return order < 0;
    default:
      return false;
  }
}
