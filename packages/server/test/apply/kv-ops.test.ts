import { EtcdError } from '@kvfleet/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { compareAll } from '../../src/apply/compare.js';
import { applyDeleteRange, applyPut, applyTxn, evaluateReadOnlyTxn, isReadOnlyTxn } from '../../src/apply/kv-ops.js';
import {
  CompareResult as R,
  CompareTarget as T,
  SortOrder,
  SortTarget,
  type DeleteRangeResult,
  type PutResult,
  type RangeResult,
  type ResponseOp,
  type TxnResult,
} from '../../src/apply/requests.js';
import type { KvStore } from '../../src/mvcc/kv-store.js';
import {
  FROM_KEY,
  FakeLeases,
  cmp,
  delReq,
  inWrite,
  k,
  keys,
  opDel,
  opPut,
  opRange,
  opTxn,
  openStore,
  pairs,
  put,
  putReq,
  txnReq,
} from './helpers.js';

let store: KvStore;
let leases: FakeLeases;

function rangeOf(op: ResponseOp | undefined): RangeResult {
  if (op === undefined || !('responseRange' in op)) throw new Error(`not a range response: ${JSON.stringify(op)}`);
  return op.responseRange;
}
function putOf(op: ResponseOp | undefined): PutResult {
  if (op === undefined || !('responsePut' in op)) throw new Error('not a put response');
  return op.responsePut;
}
function delOf(op: ResponseOp | undefined): DeleteRangeResult {
  if (op === undefined || !('responseDeleteRange' in op)) throw new Error('not a delete response');
  return op.responseDeleteRange;
}
function txnOf(op: ResponseOp | undefined): TxnResult {
  if (op === undefined || !('responseTxn' in op)) throw new Error('not a txn response');
  return op.responseTxn;
}

/** Fixture: a (v1, create 2, mod 2, lease 7), b (v2, create 3, mod 4), c (v1, create 5, value "cc"). Revision 5. */
beforeEach(async () => {
  store = await openStore();
  leases = new FakeLeases(new Set([7, 8]));
  await put(store, 'a', 'va', 7); // r2
  await put(store, 'b', 'b1'); // r3
  await put(store, 'b', 'vb'); // r4
  await put(store, 'c', 'cc'); // r5
});

async function txn(req: ReturnType<typeof txnReq>): Promise<{ revision: number; result: TxnResult }> {
  return inWrite(store, leases, (ctx) => applyTxn(ctx, req));
}

function get(key: string) {
  return store.range(k(key)).kvs[0];
}

async function rejection(p: Promise<unknown>): Promise<EtcdError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(EtcdError);
    return e as EtcdError;
  }
  throw new Error('expected a rejection');
}

/** Whether the compares hold against the store (read through a no-op write). */
async function holds(...compares: ReturnType<typeof cmp>[]): Promise<boolean> {
  return compareAll(store, compares);
}

describe('compares on a missing key', () => {
  it('VALUE always fails, whatever the result and operand', async () => {
    for (const result of [R.EQUAL, R.NOT_EQUAL, R.GREATER, R.LESS]) {
      expect(await holds(cmp('zz', T.VALUE, result))).toBe(false);
      expect(await holds(cmp('zz', T.VALUE, result, { value: k('x') }))).toBe(false);
    }
  });

  it('VERSION, CREATE, MOD and LEASE compare against 0', async () => {
    expect(await holds(cmp('zz', T.VERSION, R.EQUAL, { version: 0 }))).toBe(true);
    expect(await holds(cmp('zz', T.CREATE, R.EQUAL, { createRevision: 0 }))).toBe(true);
    expect(await holds(cmp('zz', T.MOD, R.EQUAL, { modRevision: 0 }))).toBe(true);
    expect(await holds(cmp('zz', T.LEASE, R.EQUAL, { lease: 0 }))).toBe(true);
    expect(await holds(cmp('zz', T.VERSION, R.GREATER, { version: 0 }))).toBe(false);
    expect(await holds(cmp('zz', T.CREATE, R.LESS, { createRevision: 1 }))).toBe(true);
    expect(await holds(cmp('zz', T.MOD, R.NOT_EQUAL, { modRevision: 3 }))).toBe(true);
    expect(await holds(cmp('zz', T.LEASE, R.EQUAL, { lease: 7 }))).toBe(false);
  });

  it('a deleted key counts as missing', async () => {
    await inWrite(store, leases, (ctx) => applyDeleteRange(ctx, delReq('c')));
    expect(await holds(cmp('c', T.VERSION, R.EQUAL, { version: 0 }))).toBe(true);
    expect(await holds(cmp('c', T.VALUE, R.EQUAL, { value: k('cc') }))).toBe(false);
  });
});

describe('compare results on an existing key', () => {
  // b: version 2, create 3, mod 4, value "vb", lease 0; a: lease 7.
  const cases: [string, ReturnType<typeof cmp>, boolean][] = [
    ['VERSION = 2', cmp('b', T.VERSION, R.EQUAL, { version: 2 }), true],
    ['VERSION = 1', cmp('b', T.VERSION, R.EQUAL, { version: 1 }), false],
    ['VERSION > 1', cmp('b', T.VERSION, R.GREATER, { version: 1 }), true],
    ['VERSION > 2', cmp('b', T.VERSION, R.GREATER, { version: 2 }), false],
    ['VERSION < 3', cmp('b', T.VERSION, R.LESS, { version: 3 }), true],
    ['VERSION < 2', cmp('b', T.VERSION, R.LESS, { version: 2 }), false],
    ['VERSION != 2', cmp('b', T.VERSION, R.NOT_EQUAL, { version: 2 }), false],
    ['VERSION != 5', cmp('b', T.VERSION, R.NOT_EQUAL, { version: 5 }), true],
    ['CREATE = 3', cmp('b', T.CREATE, R.EQUAL, { createRevision: 3 }), true],
    ['CREATE > 3', cmp('b', T.CREATE, R.GREATER, { createRevision: 3 }), false],
    ['CREATE < 4', cmp('b', T.CREATE, R.LESS, { createRevision: 4 }), true],
    ['CREATE != 3', cmp('b', T.CREATE, R.NOT_EQUAL, { createRevision: 3 }), false],
    ['MOD = 4', cmp('b', T.MOD, R.EQUAL, { modRevision: 4 }), true],
    ['MOD > 3', cmp('b', T.MOD, R.GREATER, { modRevision: 3 }), true],
    ['MOD < 4', cmp('b', T.MOD, R.LESS, { modRevision: 4 }), false],
    ['MOD != 9', cmp('b', T.MOD, R.NOT_EQUAL, { modRevision: 9 }), true],
    ['VALUE = vb', cmp('b', T.VALUE, R.EQUAL, { value: k('vb') }), true],
    ['VALUE = v', cmp('b', T.VALUE, R.EQUAL, { value: k('v') }), false],
    ['VALUE > v (prefix is smaller)', cmp('b', T.VALUE, R.GREATER, { value: k('v') }), true],
    ['VALUE > vc', cmp('b', T.VALUE, R.GREATER, { value: k('vc') }), false],
    ['VALUE < vc', cmp('b', T.VALUE, R.LESS, { value: k('vc') }), true],
    ['VALUE < vb', cmp('b', T.VALUE, R.LESS, { value: k('vb') }), false],
    ['VALUE != vb', cmp('b', T.VALUE, R.NOT_EQUAL, { value: k('vb') }), false],
    ['VALUE != ""', cmp('b', T.VALUE, R.NOT_EQUAL), true],
    ['LEASE = 7 on a', cmp('a', T.LEASE, R.EQUAL, { lease: 7 }), true],
    ['LEASE > 6 on a', cmp('a', T.LEASE, R.GREATER, { lease: 6 }), true],
    ['LEASE < 7 on a', cmp('a', T.LEASE, R.LESS, { lease: 7 }), false],
    ['LEASE != 0 on a', cmp('a', T.LEASE, R.NOT_EQUAL, { lease: 0 }), true],
    ['LEASE = 0 on b', cmp('b', T.LEASE, R.EQUAL, { lease: 0 }), true],
  ];
  for (const [name, c, want] of cases) {
    it(`${name} is ${String(want)}`, async () => {
      expect(await holds(c)).toBe(want);
      // And as a txn guard: the matching branch runs.
      const { result } = await txn(txnReq([c], [opRange('a')], [opRange('b')]));
      expect(result.succeeded).toBe(want);
    });
  }

  it('VALUE compares bytes unsigned', async () => {
    await store.write({ consistentIndex: 100, consistentTerm: 1 }, (t) => t.put(k('bin'), new Uint8Array([0x80])));
    expect(await holds(cmp('bin', T.VALUE, R.GREATER, { value: new Uint8Array([0x7f, 0xff]) }))).toBe(true);
  });

  it('several compares must all hold', async () => {
    const ok = cmp('b', T.VERSION, R.EQUAL, { version: 2 });
    const bad = cmp('c', T.VALUE, R.EQUAL, { value: k('nope') });
    expect(await holds(ok, cmp('c', T.VALUE, R.EQUAL, { value: k('cc') }))).toBe(true);
    expect(await holds(ok, bad)).toBe(false);
    expect(await holds(bad, ok)).toBe(false);
    expect(await holds()).toBe(true);
  });
});

describe('compares over a range', () => {
  it('hold only if they hold for every key in the range', async () => {
    // a v1, b v2, c v1
    expect(await holds(cmp('a', T.VERSION, R.GREATER, { version: 0 }, 'd'))).toBe(true);
    expect(await holds(cmp('a', T.VERSION, R.EQUAL, { version: 1 }, 'd'))).toBe(false);
    expect(await holds(cmp('a', T.VERSION, R.EQUAL, { version: 1 }, 'b'))).toBe(true);
    expect(await holds(cmp('a', T.MOD, R.LESS, { modRevision: 6 }, 'd'))).toBe(true);
    expect(await holds(cmp('a', T.MOD, R.LESS, { modRevision: 5 }, 'd'))).toBe(false);
    expect(await holds(cmp('a', T.VALUE, R.NOT_EQUAL, { value: k('x') }, 'd'))).toBe(true);
    expect(await holds(cmp('a', T.LEASE, R.EQUAL, { lease: 0 }, 'd'))).toBe(false);
    expect(await holds(cmp('b', T.LEASE, R.EQUAL, { lease: 0 }, FROM_KEY))).toBe(true);
  });

  it('"\\0" range end covers every key from key on', async () => {
    expect(await holds(cmp('b', T.CREATE, R.GREATER, { createRevision: 2 }, FROM_KEY))).toBe(true);
    expect(await holds(cmp('a', T.CREATE, R.GREATER, { createRevision: 2 }, FROM_KEY))).toBe(false);
  });

  it('an empty range compares against the zero KeyValue, VALUE fails', async () => {
    expect(await holds(cmp('x', T.VERSION, R.EQUAL, { version: 0 }, 'z'))).toBe(true);
    expect(await holds(cmp('x', T.CREATE, R.EQUAL, { createRevision: 0 }, 'z'))).toBe(true);
    expect(await holds(cmp('x', T.VALUE, R.EQUAL, {}, 'z'))).toBe(false);
  });
});

describe('applyPut', () => {
  it('creates and updates keys, one revision per write', async () => {
    const w = await inWrite(store, leases, (ctx) => applyPut(ctx, putReq('d', 'vd')));
    expect(w.revision).toBe(6);
    expect(w.result).toEqual({});
    expect(get('d')).toMatchObject({ value: k('vd'), createRevision: 6, modRevision: 6, version: 1, lease: 0 });
    await inWrite(store, leases, (ctx) => applyPut(ctx, putReq('d', 'vd2')));
    expect(get('d')).toMatchObject({ value: k('vd2'), createRevision: 6, modRevision: 7, version: 2 });
  });

  it('prev_kv returns the previous pair, none for a new key', async () => {
    const w = await inWrite(store, leases, (ctx) => applyPut(ctx, putReq('b', 'new', { prevKv: true })));
    expect(w.result.prevKv).toMatchObject({ key: k('b'), value: k('vb'), version: 2, modRevision: 4, createRevision: 3 });
    const fresh = await inWrite(store, leases, (ctx) => applyPut(ctx, putReq('nk', 'x', { prevKv: true })));
    expect(fresh.result.prevKv).toBeUndefined();
    const without = await inWrite(store, leases, (ctx) => applyPut(ctx, putReq('b', 'again')));
    expect(without.result.prevKv).toBeUndefined();
  });

  it('ignore_value keeps the value and updates the rest', async () => {
    await inWrite(store, leases, (ctx) => applyPut(ctx, putReq('b', '', { ignoreValue: true, lease: 8 })));
    expect(get('b')).toMatchObject({ value: k('vb'), lease: 8, version: 3, modRevision: 6 });
    expect(leases.keysOf(8)).toEqual(['b']);
  });

  it('ignore_lease keeps the lease and updates the value', async () => {
    await inWrite(store, leases, (ctx) => applyPut(ctx, putReq('a', 'va2', { ignoreLease: true })));
    expect(get('a')).toMatchObject({ value: k('va2'), lease: 7, version: 2 });
    expect(leases.calls.filter((c) => c.startsWith('detach'))).toEqual([]);
  });

  it('ignore_value and ignore_lease together rewrite the same pair with a new revision', async () => {
    const w = await inWrite(store, leases, (ctx) => applyPut(ctx, putReq('a', '', { ignoreValue: true, ignoreLease: true, prevKv: true })));
    expect(w.revision).toBe(6);
    expect(w.result.prevKv).toMatchObject({ value: k('va'), lease: 7 });
    expect(get('a')).toMatchObject({ value: k('va'), lease: 7, version: 2, modRevision: 6 });
  });

  for (const flag of ['ignoreValue', 'ignoreLease'] as const) {
    it(`${flag} on a missing key fails with ErrGRPCKeyNotFound and writes nothing`, async () => {
      const e = await rejection(inWrite(store, leases, (ctx) => applyPut(ctx, putReq('zz', '', { [flag]: true }))));
      expect(e.name).toBe('ErrGRPCKeyNotFound');
      expect(store.currentRevision).toBe(5);
      expect(get('zz')).toBeUndefined();
    });
  }

  it('an unknown lease fails with ErrGRPCLeaseNotFound and writes nothing', async () => {
    const e = await rejection(inWrite(store, leases, (ctx) => applyPut(ctx, putReq('d', 'x', { lease: 99 }))));
    expect(e.name).toBe('ErrGRPCLeaseNotFound');
    expect(store.currentRevision).toBe(5);
    expect(get('d')).toBeUndefined();
  });

  it('attaches to a new lease and detaches from the old one', async () => {
    await inWrite(store, leases, (ctx) => applyPut(ctx, putReq('d', 'x', { lease: 8 })));
    expect(get('d')?.lease).toBe(8);
    expect(leases.keysOf(8)).toEqual(['d']);

    // a moves from 7 (attached at the fixture write, outside the fake) to 8.
    leases.attached.set(7, new Set(['a']));
    await inWrite(store, leases, (ctx) => applyPut(ctx, putReq('a', 'y', { lease: 8 })));
    expect(leases.keysOf(7)).toEqual([]);
    expect(leases.keysOf(8)).toEqual(['a', 'd']);

    // A put with lease 0 detaches.
    await inWrite(store, leases, (ctx) => applyPut(ctx, putReq('d', 'z')));
    expect(get('d')?.lease).toBe(0);
    expect(leases.keysOf(8)).toEqual(['a']);
  });

  it('a put under the same lease keeps the attachment', async () => {
    leases.attached.set(7, new Set(['a']));
    await inWrite(store, leases, (ctx) => applyPut(ctx, putReq('a', 'again', { lease: 7 })));
    expect(get('a')).toMatchObject({ value: k('again'), lease: 7 });
    expect(leases.keysOf(7)).toEqual(['a']);
  });
});

describe('applyDeleteRange', () => {
  it('deletes a key, a range, and from a key on, with prev_kv', async () => {
    const one = await inWrite(store, leases, (ctx) => applyDeleteRange(ctx, delReq('b', undefined, true)));
    expect(one.result.deleted).toBe(1);
    expect(pairs(one.result.prevKvs)).toEqual(['b=vb']);
    expect(one.revision).toBe(6);
    expect(get('b')).toBeUndefined();

    await put(store, 'b', 'b2');
    await put(store, 'd', 'd');
    const range = await inWrite(store, leases, (ctx) => applyDeleteRange(ctx, delReq('b', 'd', true)));
    expect(range.result.deleted).toBe(2);
    expect(keys(range.result.prevKvs)).toEqual(['b', 'c']);

    const rest = await inWrite(store, leases, (ctx) => applyDeleteRange(ctx, delReq('a', FROM_KEY)));
    expect(rest.result).toEqual({ deleted: 2, prevKvs: [] });
    expect(store.range(new Uint8Array([0]), new Uint8Array([0])).count).toBe(0);
  });

  it('deleting nothing reports 0 and makes no revision', async () => {
    const w = await inWrite(store, leases, (ctx) => applyDeleteRange(ctx, delReq('x', 'z', true)));
    expect(w.result).toEqual({ deleted: 0, prevKvs: [] });
    expect(w.revision).toBe(5);
  });

  it('detaches deleted keys from their leases', async () => {
    leases.attached.set(7, new Set(['a']));
    await inWrite(store, leases, (ctx) => applyDeleteRange(ctx, delReq('a', 'c')));
    expect(leases.calls).toContain('detach 7 a');
    expect(leases.keysOf(7)).toEqual([]);
    expect(leases.calls.filter((c) => c.startsWith('detach'))).toEqual(['detach 7 a']);
  });
});

describe('applyTxn', () => {
  it('runs the success branch when the compares hold, the failure branch otherwise', async () => {
    const ok = await txn(txnReq([cmp('b', T.VALUE, R.EQUAL, { value: k('vb') })], [opPut('s', '1')], [opPut('f', '1')]));
    expect(ok.result.succeeded).toBe(true);
    expect(ok.result.responses).toEqual([{ responsePut: {} }]);
    expect(get('s')).toBeDefined();
    expect(get('f')).toBeUndefined();

    const no = await txn(txnReq([cmp('b', T.VALUE, R.EQUAL, { value: k('xx') })], [opPut('s2', '1')], [opPut('f2', '1')]));
    expect(no.result.succeeded).toBe(false);
    expect(get('s2')).toBeUndefined();
    expect(get('f2')).toBeDefined();
  });

  it('a txn is one revision; its reads see its earlier writes', async () => {
    const w = await txn(
      txnReq(
        [],
        [
          opRange('d'),
          opPut('d', 'vd'),
          opRange('d'),
          opDel('b'),
          opRange('a', { rangeEnd: FROM_KEY }),
          opPut('a', 'va2', { prevKv: true, lease: 7 }),
          opRange('a', { rangeEnd: FROM_KEY, countOnly: true }),
        ],
      ),
    );
    expect(w.revision).toBe(6);
    const r = w.result.responses;
    // A read before the txn's first write reports the revision before it, as etcd does.
    expect(r[0]).toEqual({ responseRange: { kvs: [], more: false, count: 0, revision: 5 } });
    expect(rangeOf(r[2]).revision).toBe(6);
    const seen = rangeOf(r[2]).kvs;
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ key: k('d'), value: k('vd'), createRevision: 6, modRevision: 6, version: 1 });
    expect(r[3]).toEqual({ responseDeleteRange: { deleted: 1, prevKvs: [] } });
    expect(keys(rangeOf(r[4]).kvs)).toEqual(['a', 'c', 'd']);
    expect(putOf(r[5]).prevKv).toMatchObject({ value: k('va'), version: 1 });
    expect(r[6]).toEqual({ responseRange: { kvs: [], more: false, count: 3, revision: 6 } });
    expect(get('a')).toMatchObject({ value: k('va2'), modRevision: 6, version: 2 });
    expect(get('b')).toBeUndefined();
  });

  it('a read inside a txn sorts, limits and filters what the txn sees', async () => {
    const w = await txn(
      txnReq(
        [],
        [
          opPut('d', 'a-first'),
          opRange('a', { rangeEnd: FROM_KEY, sortTarget: SortTarget.VALUE, sortOrder: SortOrder.ASCEND, limit: 2 }),
          opRange('a', { rangeEnd: FROM_KEY, minModRevision: 6 }),
        ],
      ),
    );
    const sorted = rangeOf(w.result.responses[1]);
    expect(keys(sorted.kvs)).toEqual(['d', 'c']);
    expect(sorted.more).toBe(true);
    expect(sorted.count).toBe(4);
    const filtered = rangeOf(w.result.responses[2]);
    expect(keys(filtered.kvs)).toEqual(['d']);
    expect(filtered.count).toBe(4);
  });

  it('a read at an explicit revision inside a txn reads the store at that revision', async () => {
    const w = await txn(txnReq([], [opPut('b', 'changed'), opRange('b', { revision: 3 })]));
    const kvs = rangeOf(w.result.responses[1]).kvs;
    expect(pairs(kvs)).toEqual(['b=b1']);
  });

  it('a txn of reads only makes no revision', async () => {
    const w = await txn(txnReq([cmp('a', T.VERSION, R.EQUAL, { version: 1 })], [opRange('a')]));
    expect(w.revision).toBe(5);
    expect(w.result.succeeded).toBe(true);
  });

  it('nested txns: results nest, inner compares see the outer writes', async () => {
    const inner = txnReq([cmp('n', T.VALUE, R.EQUAL, { value: k('1') })], [opPut('inner-ok', 'y'), opRange('n')], [opPut('inner-no', 'y')]);
    const w = await txn(txnReq([], [opPut('n', '1'), opTxn(inner), opRange('inner-ok')]));
    expect(w.revision).toBe(6);
    const nested = txnOf(w.result.responses[1]);
    expect(nested.succeeded).toBe(true);
    expect(nested.responses[0]).toEqual({ responsePut: {} });
    expect(pairs(rangeOf(nested.responses[1]).kvs)).toEqual(['n=1']);
    expect(pairs(rangeOf(w.result.responses[2]).kvs)).toEqual(['inner-ok=y']);
    expect(get('inner-no')).toBeUndefined();
  });

  it('a nested txn in the failure branch runs its own failure branch', async () => {
    const inner = txnReq([cmp('zz', T.VERSION, R.GREATER, { version: 0 })], [opPut('x1', '1')], [opPut('x2', '2')]);
    const w = await txn(txnReq([cmp('zz', T.CREATE, R.GREATER, { createRevision: 0 })], [opPut('y1', '1')], [opTxn(inner)]));
    expect(w.result.succeeded).toBe(false);
    expect(w.result.responses).toEqual([{ responseTxn: { succeeded: false, responses: [{ responsePut: {} }] } }]);
    expect(get('x2')).toBeDefined();
    expect(get('x1')).toBeUndefined();
    expect(get('y1')).toBeUndefined();
  });

  it('a failing op (ignore_value on a missing key) aborts the whole txn', async () => {
    const e = await rejection(txn(txnReq([], [opPut('first', '1'), opDel('a'), opPut('zz', '', { ignoreValue: true })])));
    expect(e.name).toBe('ErrGRPCKeyNotFound');
    expect(store.currentRevision).toBe(5);
    expect(get('first')).toBeUndefined();
    expect(get('a')).toBeDefined();
  });

  it('ignore_lease on a missing key inside a nested txn aborts the outer txn', async () => {
    const inner = txnReq([], [opPut('zz', 'v', { ignoreLease: true })]);
    const e = await rejection(txn(txnReq([], [opPut('first', '1'), opTxn(inner)])));
    expect(e.name).toBe('ErrGRPCKeyNotFound');
    expect(store.currentRevision).toBe(5);
    expect(get('first')).toBeUndefined();
  });

  it('an unknown lease in a txn aborts it', async () => {
    const e = await rejection(txn(txnReq([], [opPut('first', '1'), opPut('second', '2', { lease: 42 })])));
    expect(e.name).toBe('ErrGRPCLeaseNotFound');
    expect(store.currentRevision).toBe(5);
    expect(get('first')).toBeUndefined();
  });

  it('prev_kv inside a txn: put and delete', async () => {
    const w = await txn(txnReq([], [opPut('b', 'nb', { prevKv: true }), opDel('c', undefined, true)]));
    expect(putOf(w.result.responses[0]).prevKv).toMatchObject({ value: k('vb') });
    expect(pairs(delOf(w.result.responses[1]).prevKvs)).toEqual(['c=cc']);
  });

  it('ignore_value inside a txn works on a key the txn did not write', async () => {
    await txn(txnReq([], [opPut('c', '', { ignoreValue: true, lease: 8 })]));
    expect(get('c')).toMatchObject({ value: k('cc'), lease: 8, version: 2 });
    expect(leases.keysOf(8)).toEqual(['c']);
  });
});

describe('isReadOnlyTxn', () => {
  it('is true for ranges only, nested included, in both branches', () => {
    expect(isReadOnlyTxn(txnReq([]))).toBe(true);
    expect(isReadOnlyTxn(txnReq([cmp('a', T.VERSION, R.EQUAL)], [opRange('a')], [opRange('b')]))).toBe(true);
    expect(isReadOnlyTxn(txnReq([], [opTxn(txnReq([], [opRange('a')], [opTxn(txnReq([], [opRange('b')]))]))]))).toBe(true);
  });

  it('is false if any branch at any depth writes', () => {
    expect(isReadOnlyTxn(txnReq([], [opPut('a', '1')]))).toBe(false);
    expect(isReadOnlyTxn(txnReq([], [opRange('a')], [opDel('a')]))).toBe(false);
    expect(isReadOnlyTxn(txnReq([], [opTxn(txnReq([], [opRange('a')], [opPut('a', '1')]))]))).toBe(false);
    expect(isReadOnlyTxn(txnReq([], [], [opTxn(txnReq([], [opTxn(txnReq([], [opDel('x')]))]))]))).toBe(false);
  });
});

describe('evaluateReadOnlyTxn', () => {
  it('evaluates compares and ranges against the store', () => {
    const req = txnReq(
      [cmp('b', T.VERSION, R.EQUAL, { version: 2 })],
      [opRange('a', { rangeEnd: FROM_KEY, limit: 1 }), opTxn(txnReq([cmp('zz', T.VALUE, R.EQUAL)], [opRange('a')], [opRange('c')]))],
      [opRange('b')],
    );
    const res = evaluateReadOnlyTxn(store, req);
    expect(res.succeeded).toBe(true);
    expect(res.responses[0]).toMatchObject({ responseRange: { more: true, count: 3 } });
    expect(pairs(rangeOf(res.responses[0]).kvs)).toEqual(['a=va']);
    const nested = txnOf(res.responses[1]);
    expect(nested.succeeded).toBe(false);
    expect(pairs(rangeOf(nested.responses[0]).kvs)).toEqual(['c=cc']);
    expect(store.currentRevision).toBe(5);
  });

  it('takes the failure branch and reads at a revision', () => {
    const res = evaluateReadOnlyTxn(store, txnReq([cmp('b', T.VERSION, R.EQUAL, { version: 9 })], [], [opRange('b', { revision: 3 })]));
    expect(res.succeeded).toBe(false);
    expect(pairs(rangeOf(res.responses[0]).kvs)).toEqual(['b=b1']);
  });

  it('refuses a write op', () => {
    expect(() => evaluateReadOnlyTxn(store, txnReq([], [opPut('a', '1')]))).toThrow();
  });
});
