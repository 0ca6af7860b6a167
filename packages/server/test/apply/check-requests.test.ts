import { EtcdError } from '@kvfleet/core';
import { describe, expect, it } from 'vitest';
import { checkDeleteRequest, checkPutRequest, checkRangeRequest, checkTxnRequest } from '../../src/apply/check-requests.js';
import { CompareResult, CompareTarget, type RequestOp, type TxnRequest } from '../../src/apply/requests.js';
import { FROM_KEY, cmp, delReq, opDel, opPut, opRange, opTxn, putReq, rangeReq, txnReq } from './helpers.js';

/** The error name `f` throws, or undefined if it does not throw. */
function errorOf(f: () => void): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EtcdError);
    return (e as EtcdError).name;
  }
  return undefined;
}

const check = (t: TxnRequest, max = 128) => errorOf(() => checkTxnRequest(t, max));
const success = (...ops: RequestOp[]) => txnReq([], ops);
const DUP = 'ErrGRPCDuplicateKey';

describe('checkRangeRequest', () => {
  it('accepts a plain range', () => {
    expect(errorOf(() => checkRangeRequest(rangeReq('a')))).toBeUndefined();
    expect(errorOf(() => checkRangeRequest(rangeReq('a', { sortOrder: 2, sortTarget: 4 })))).toBeUndefined();
  });

  it('refuses an empty key', () => {
    expect(errorOf(() => checkRangeRequest(rangeReq('')))).toBe('ErrGRPCEmptyKey');
  });

  it('refuses unknown sort orders and targets', () => {
    expect(errorOf(() => checkRangeRequest(rangeReq('a', { sortOrder: 3 })))).toBe('ErrGRPCInvalidSortOption');
    expect(errorOf(() => checkRangeRequest(rangeReq('a', { sortOrder: -1 })))).toBe('ErrGRPCInvalidSortOption');
    expect(errorOf(() => checkRangeRequest(rangeReq('a', { sortTarget: 5 })))).toBe('ErrGRPCInvalidSortOption');
  });
});

describe('checkPutRequest / checkDeleteRequest', () => {
  it('refuse an empty key', () => {
    expect(errorOf(() => checkPutRequest(putReq('', 'v')))).toBe('ErrGRPCEmptyKey');
    expect(errorOf(() => checkDeleteRequest(delReq('')))).toBe('ErrGRPCEmptyKey');
    expect(errorOf(() => checkDeleteRequest(delReq('a', 'b')))).toBeUndefined();
  });

  it('refuse a value with ignore_value and a lease with ignore_lease', () => {
    expect(errorOf(() => checkPutRequest(putReq('a', 'v', { ignoreValue: true })))).toBe('ErrGRPCValueProvided');
    expect(errorOf(() => checkPutRequest(putReq('a', '', { ignoreValue: true })))).toBeUndefined();
    expect(errorOf(() => checkPutRequest(putReq('a', 'v', { ignoreLease: true, lease: 5 })))).toBe('ErrGRPCLeaseProvided');
    expect(errorOf(() => checkPutRequest(putReq('a', 'v', { ignoreLease: true })))).toBeUndefined();
    expect(errorOf(() => checkPutRequest(putReq('a', 'v', { lease: 5 })))).toBeUndefined();
  });
});

describe('checkTxnRequest: per-op checks', () => {
  it('applies each op check inside the txn, in both branches and nested', () => {
    expect(check(success(opPut('', 'v')))).toBe('ErrGRPCEmptyKey');
    expect(check(txnReq([], [], [opDel('')]))).toBe('ErrGRPCEmptyKey');
    expect(check(success(opRange('a', { sortTarget: 9 })))).toBe('ErrGRPCInvalidSortOption');
    expect(check(success(opTxn(success(opPut('a', 'v', { ignoreValue: true })))))).toBe('ErrGRPCValueProvided');
    expect(check(success(opTxn(txnReq([], [], [opPut('a', '', { ignoreLease: true, lease: 1 })]))))).toBe('ErrGRPCLeaseProvided');
  });

  it('refuses a compare with an empty key (etcd: ErrGRPCEmptyKey)', () => {
    expect(check(txnReq([cmp('', CompareTarget.VERSION, CompareResult.EQUAL)], [opPut('a', '1')]))).toBe('ErrGRPCEmptyKey');
  });

  it('refuses a compare with an empty key in a nested txn', () => {
    expect(check(success(opTxn(txnReq([cmp('', CompareTarget.VALUE, CompareResult.EQUAL)]))))).toBe('ErrGRPCEmptyKey');
  });

  it('accepts an empty txn', () => {
    expect(check(txnReq([]))).toBeUndefined();
  });
});

describe('checkTxnRequest: too many operations', () => {
  const puts = (n: number, prefix = 'k') => Array.from({ length: n }, (_, i) => opPut(`${prefix}${String(i)}`, 'v'));
  const compares = (n: number) => Array.from({ length: n }, (_, i) => cmp(`c${String(i)}`, CompareTarget.VERSION, CompareResult.EQUAL));

  it('counts compares, success and failure separately against the limit', () => {
    expect(check(txnReq(compares(3), puts(3), puts(3)), 3)).toBeUndefined();
    expect(check(txnReq(compares(4), [], []), 3)).toBe('ErrGRPCTooManyOps');
    expect(check(txnReq([], puts(4), []), 3)).toBe('ErrGRPCTooManyOps');
    expect(check(txnReq([], [], puts(4)), 3)).toBe('ErrGRPCTooManyOps');
  });

  it('refuses a nested txn over the limit', () => {
    expect(check(success(opTxn(txnReq([], puts(4)))), 3)).toBe('ErrGRPCTooManyOps');
    expect(check(success(opTxn(txnReq([], [], [opTxn(txnReq(compares(4)))]))), 3)).toBe('ErrGRPCTooManyOps');
  });

  it('gives a nested txn only what its parent left (etcd passes maxTxnOps - opc down)', () => {
    // Outer: 2 ops in success, so the nested txn may have at most 4 - 2 = 2.
    expect(check(success(opPut('x', '1'), opTxn(txnReq([], puts(2)))), 4)).toBeUndefined();
    expect(check(success(opPut('x', '1'), opTxn(txnReq([], puts(3)))), 4)).toBe('ErrGRPCTooManyOps');
  });
});

describe('checkTxnRequest: duplicate keys (etcd checkIntervals)', () => {
  it('put + put of the same key', () => {
    expect(check(success(opPut('a', '1'), opPut('a', '2')))).toBe(DUP);
    expect(check(txnReq([], [], [opPut('a', '1'), opPut('a', '2')]))).toBe(DUP);
    expect(check(success(opPut('a', '1'), opPut('b', '2')))).toBeUndefined();
  });

  it('the same put in success and failure is fine', () => {
    expect(check(txnReq([], [opPut('a', '1')], [opPut('a', '2')]))).toBeUndefined();
  });

  it('put + delete of the same single key, in either order', () => {
    expect(check(success(opPut('a', '1'), opDel('a')))).toBe(DUP);
    expect(check(success(opDel('a'), opPut('a', '1')))).toBe(DUP);
    expect(check(success(opDel('a'), opPut('ab', '1')))).toBeUndefined();
  });

  it('put + delete of a range covering it; the range end is exclusive', () => {
    expect(check(success(opDel('a', 'c'), opPut('b', '1')))).toBe(DUP);
    expect(check(success(opDel('a', 'c'), opPut('a', '1')))).toBe(DUP);
    expect(check(success(opPut('b', '1'), opDel('a', 'c')))).toBe(DUP);
    expect(check(success(opDel('a', 'c'), opPut('c', '1')))).toBeUndefined();
    expect(check(success(opDel('b', 'c'), opPut('a', '1')))).toBeUndefined();
  });

  it('put + "\\0" from-key delete covering it', () => {
    // etcd's intent (and the fix of etcd-io/etcd#22445 / PR #22395): a from-key delete covers
    // every key from its key on.
    expect(check(success(opDel('a', FROM_KEY), opPut('b', '1')))).toBe(DUP);
    expect(check(success(opDel('a', FROM_KEY), opPut('a', '1')))).toBe(DUP);
    expect(check(success(opDel('a', FROM_KEY), opPut('\xff\xff', '1')))).toBe(DUP);
    expect(check(success(opDel('b', FROM_KEY), opPut('a', '1')))).toBeUndefined();
  });

  it('delete + delete overlapping is fine', () => {
    expect(check(success(opDel('a', 'c'), opDel('b', 'd'), opDel('b')))).toBeUndefined();
  });

  it('the same put in both branches of a nested txn is allowed', () => {
    expect(check(success(opTxn(txnReq([], [opPut('a', '1')], [opPut('a', '2')]))))).toBeUndefined();
  });

  it('a nested put colliding with an outer put', () => {
    expect(check(success(opPut('a', '1'), opTxn(txnReq([], [opPut('a', '2')]))))).toBe(DUP);
    expect(check(success(opPut('a', '1'), opTxn(txnReq([], [], [opPut('a', '2')]))))).toBe(DUP);
    expect(check(success(opTxn(txnReq([], [opPut('a', '2')])), opPut('a', '1')))).toBe(DUP);
  });

  it('a nested put colliding with an outer delete', () => {
    expect(check(success(opDel('a'), opTxn(txnReq([], [opPut('a', '2')]))))).toBe(DUP);
    expect(check(success(opDel('a', 'z'), opTxn(txnReq([], [], [opPut('m', '2')]))))).toBe(DUP);
    expect(check(success(opDel('a', FROM_KEY), opTxn(txnReq([], [opPut('m', '2')]))))).toBe(DUP);
  });

  it('an outer put colliding with a nested delete', () => {
    expect(check(success(opTxn(txnReq([], [opDel('a', 'c')])), opPut('b', '1')))).toBe(DUP);
    expect(check(success(opTxn(txnReq([], [], [opDel('b')])), opPut('b', '1')))).toBe(DUP);
  });

  it('two sibling nested txns putting the same key', () => {
    expect(check(success(opTxn(txnReq([], [opPut('a', '1')])), opTxn(txnReq([], [opPut('a', '2')]))))).toBe(DUP);
    expect(check(success(opTxn(txnReq([], [], [opPut('a', '1')])), opTxn(txnReq([], [], [opPut('a', '2')]))))).toBe(DUP);
  });

  it('a put in a nested failure branch colliding with a put in a sibling success branch', () => {
    expect(check(success(opTxn(txnReq([], [opPut('a', '1')])), opTxn(txnReq([], [], [opPut('a', '2')]))))).toBe(DUP);
  });

  it('nested collisions are found at depth', () => {
    const deep = (op: RequestOp) => opTxn(txnReq([], [opTxn(txnReq([], [op]))]));
    expect(check(success(opPut('a', '1'), deep(opPut('a', '2'))))).toBe(DUP);
    expect(check(success(opDel('a', 'b'), deep(opPut('a', '2'))))).toBe(DUP);
    expect(check(success(opPut('b', '1'), deep(opPut('a', '2'))))).toBeUndefined();
    // Inside one nested branch.
    expect(check(success(opTxn(txnReq([], [opPut('a', '1'), opDel('a')]))))).toBe(DUP);
  });

  it('the success and failure branches of the top level are checked separately', () => {
    expect(check(txnReq([], [opDel('a')], [opPut('a', '1')]))).toBeUndefined();
  });

  it('keys are compared as bytes', () => {
    const bin = (b: number[]) => ({ requestPut: { ...putReq('x', 'v'), key: new Uint8Array(b) } });
    expect(check(success(bin([0xff, 0x00]), bin([0xff, 0x00])))).toBe(DUP);
    expect(check(success(bin([0xff, 0x00]), bin([0xff])))).toBeUndefined();
  });
});
