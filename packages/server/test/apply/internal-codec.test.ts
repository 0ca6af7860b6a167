import { proto } from '@kvfleet/core';
import { describe, expect, it } from 'vitest';
import { decodeInternalRequest, encodeInternalRequest } from '../../src/apply/internal-codec.js';
import { CompareResult, CompareTarget, type Compare, type InternalRequest, type TxnRequest } from '../../src/apply/requests.js';
import { EMPTY, FROM_KEY, cmp, k, opDel, opPut, opRange, opTxn, putReq, rangeReq, txnReq } from './helpers.js';

/** Decoded bytes are Buffers (a Uint8Array subclass); compare contents, not the class. */
function plain<T>(v: T): T {
  if (v instanceof Uint8Array) return new Uint8Array(v) as T;
  if (Array.isArray(v)) return v.map(plain) as T;
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([key, x]) => [key, plain(x)])) as T;
  return v;
}

const roundTrip = (req: InternalRequest) => {
  const decoded = decodeInternalRequest(encodeInternalRequest(req));
  return decoded === undefined ? undefined : plain(decoded);
};
const BIG = Number.MAX_SAFE_INTEGER;

/** A compare with every operand set, so the codec must pick the one its target names. */
function fullCompare(target: number, result: number): Compare {
  return cmp('ck', target, result, { version: 11, createRevision: 22, modRevision: 33, value: k('val'), lease: 44 }, 'cz');
}

/** What survives: the target's operand, the others at their defaults. */
function onlyOperand(c: Compare): Compare {
  const zero = { version: 0, createRevision: 0, modRevision: 0, value: EMPTY, lease: 0 };
  switch (c.target) {
    case CompareTarget.VERSION:
      return { ...c, ...zero, version: c.version };
    case CompareTarget.CREATE:
      return { ...c, ...zero, createRevision: c.createRevision };
    case CompareTarget.MOD:
      return { ...c, ...zero, modRevision: c.modRevision };
    case CompareTarget.VALUE:
      return { ...c, ...zero, value: c.value };
    default:
      return { ...c, ...zero, lease: c.lease };
  }
}

describe('internal codec: round trips', () => {
  it('put, with every field', () => {
    const plain: InternalRequest = { id: 1, put: putReq('k', 'v') };
    expect(roundTrip(plain)).toEqual(plain);
    const full: InternalRequest = {
      id: BIG,
      put: { key: new Uint8Array([0, 0xff, 1]), value: new Uint8Array([0xfe, 0]), lease: BIG, prevKv: true, ignoreValue: true, ignoreLease: true },
    };
    expect(roundTrip(full)).toEqual(full);
  });

  it('deleteRange: single key, range, from-key, prev_kv', () => {
    for (const deleteRange of [
      { key: k('a'), rangeEnd: EMPTY, prevKv: false },
      { key: k('a'), rangeEnd: k('b'), prevKv: true },
      { key: k('a'), rangeEnd: FROM_KEY, prevKv: false },
      { key: new Uint8Array([0]), rangeEnd: FROM_KEY, prevKv: true },
    ]) {
      const req: InternalRequest = { id: 7, deleteRange };
      expect(roundTrip(req)).toEqual(req);
    }
  });

  it('compaction, physical or not', () => {
    for (const compaction of [
      { revision: 5, physical: false },
      { revision: BIG, physical: true },
    ]) {
      const req: InternalRequest = { id: 2, compaction };
      expect(roundTrip(req)).toEqual(req);
    }
  });

  it('lease grant and revoke', () => {
    const grant: InternalRequest = { id: 3, leaseGrant: { TTL: 60, ID: 0x1234567890 } };
    expect(roundTrip(grant)).toEqual(grant);
    const grantBig: InternalRequest = { id: 3, leaseGrant: { TTL: 9_000_000_000, ID: BIG } };
    expect(roundTrip(grantBig)).toEqual(grantBig);
    const revoke: InternalRequest = { id: 4, leaseRevoke: { ID: BIG } };
    expect(roundTrip(revoke)).toEqual(revoke);
  });

  it('lease checkpoints: several, none', () => {
    const req: InternalRequest = {
      id: 5,
      leaseCheckpoint: {
        checkpoints: [
          { ID: 1, remainingTTL: 30 },
          { ID: BIG, remainingTTL: 0 },
          { ID: 0xabcdef, remainingTTL: 123456789 },
        ],
      },
    };
    expect(roundTrip(req)).toEqual(req);
    const none: InternalRequest = { id: 6, leaseCheckpoint: { checkpoints: [] } };
    expect(roundTrip(none)).toEqual(none);
  });

  it('txn with every compare target and result: only the target operand survives', () => {
    const compares: Compare[] = [];
    for (const target of Object.values(CompareTarget)) {
      for (const result of Object.values(CompareResult)) compares.push(fullCompare(target, result));
    }
    const txn: TxnRequest = txnReq(compares, [opPut('a', '1')], [opRange('b')]);
    const got = roundTrip({ id: 9, txn });
    expect(got).toEqual({ id: 9, txn: { ...txn, compare: compares.map(onlyOperand) } });
  });

  it('txn compares whose operand is zero or empty keep target and result', () => {
    const compares = [
      cmp('a', CompareTarget.VERSION, CompareResult.EQUAL, { version: 0 }),
      cmp('a', CompareTarget.CREATE, CompareResult.GREATER, { createRevision: 0 }),
      cmp('a', CompareTarget.MOD, CompareResult.LESS, { modRevision: 0 }),
      cmp('a', CompareTarget.VALUE, CompareResult.NOT_EQUAL, { value: EMPTY }),
      cmp('a', CompareTarget.LEASE, CompareResult.EQUAL, { lease: 0 }, FROM_KEY),
    ];
    const txn = txnReq(compares);
    expect(roundTrip({ id: 10, txn })).toEqual({ id: 10, txn });
  });

  it('txn with every op kind and every range field', () => {
    const range = rangeReq('r', {
      rangeEnd: k('s'),
      limit: 10,
      revision: 99,
      sortOrder: 2,
      sortTarget: 4,
      serializable: true,
      keysOnly: true,
      countOnly: true,
      minModRevision: 1,
      maxModRevision: 2,
      minCreateRevision: 3,
      maxCreateRevision: BIG,
    });
    const txn = txnReq(
      [cmp('a', CompareTarget.MOD, CompareResult.GREATER, { modRevision: 12 })],
      [{ requestRange: range }, opPut('p', 'v', { lease: 5, prevKv: true }), opDel('d', 'e', true), opDel('f', FROM_KEY)],
      [opPut('q', '', { ignoreValue: true, ignoreLease: true }), opRange('z')],
    );
    expect(roundTrip({ id: 11, txn })).toEqual({ id: 11, txn });
  });

  it('nested txns, in both branches and several levels deep, with their compares', () => {
    const deepest = txnReq([fullCompare(CompareTarget.LEASE, CompareResult.NOT_EQUAL)], [opPut('x', '1')], [opDel('x')]);
    const middle = txnReq([fullCompare(CompareTarget.VALUE, CompareResult.EQUAL)], [opTxn(deepest), opRange('m')], [opTxn(txnReq([]))]);
    const txn = txnReq([fullCompare(CompareTarget.CREATE, CompareResult.LESS)], [opTxn(middle)], [opPut('y', '2'), opTxn(deepest)]);

    const normalize = (t: TxnRequest): TxnRequest => ({
      compare: t.compare.map(onlyOperand),
      success: t.success.map((op) => ('requestTxn' in op ? { requestTxn: normalize(op.requestTxn) } : op)),
      failure: t.failure.map((op) => ('requestTxn' in op ? { requestTxn: normalize(op.requestTxn) } : op)),
    });
    expect(roundTrip({ id: 12, txn })).toEqual({ id: 12, txn: normalize(txn) });
  });

  it('an empty txn', () => {
    const req: InternalRequest = { id: 13, txn: txnReq([]) };
    expect(roundTrip(req)).toEqual(req);
  });

  it('the id survives at the extremes', () => {
    for (const id of [0, 1, 2 ** 32, BIG]) expect(roundTrip({ id, put: putReq('k', 'v') })?.id).toBe(id);
  });

  it('a kind this member does not apply decodes to undefined', () => {
    // Reads are never proposed; an entry carrying one is not something to apply.
    const bytes = proto.encodeInternalRaftRequest({ header: { ID: 1 }, range: { key: Buffer.from('k') } });
    expect(decodeInternalRequest(bytes)).toBeUndefined();
  });

  it('round-trips an alarm request', () => {
    const bytes = proto.encodeInternalRaftRequest({ header: { ID: 1 }, alarm: { action: 1, memberID: 2, alarm: 1 } });
    expect(decodeInternalRequest(bytes)).toEqual({ id: 1, alarm: { action: 1, memberID: 2, alarm: 1 } });
  });
});
