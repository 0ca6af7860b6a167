import { describe, expect, it } from 'vitest';
import type { KeyValueSeen, KvRequest, KvResponse, Operation, TxnOp } from '../history.js';
import { type ModelState, applyRequest, checkLinearizable, initialState, stateFrom, step } from './index.js';
import { compareKeys, entries, insert, type OrderedMap, remove, visitRange } from './ordered-map.js';
import { randomHistory, seededRandom } from './random-history.js';

/** Builds a history by hand: ids in call order, times in ms. */
function history() {
  const ops: Operation[] = [];
  const add = (client: number, callMs: number, returnMs: number, request: KvRequest, outcome: Operation['outcome']): number => {
    const id = ops.length;
    ops.push({ id, client, request, callMs, returnMs, outcome });
    return id;
  };
  return {
    ops,
    ok: (client: number, callMs: number, returnMs: number, request: KvRequest, response: KvResponse) => add(client, callMs, returnMs, request, { status: 'ok', response }),
    unknown: (client: number, callMs: number, request: KvRequest) => add(client, callMs, Infinity, request, { status: 'unknown', error: 'timed out' }),
    failed: (client: number, callMs: number, returnMs: number, request: KvRequest) => add(client, callMs, returnMs, request, { status: 'failed', error: 'rejected' }),
  };
}

const put = (key: string, value: string, lease?: string): Extract<KvRequest, { type: 'put' }> => (lease === undefined ? { type: 'put', key, value } : { type: 'put', key, value, lease });
const get = (key: string, end?: string): KvRequest => (end === undefined ? { type: 'range', key } : { type: 'range', key, end });
const del = (key: string, end?: string): KvRequest => (end === undefined ? { type: 'delete', key } : { type: 'delete', key, end });
const putDone = (revision: number): KvResponse => ({ type: 'put', revision });
const deleted = (revision: number, count: number): KvResponse => ({ type: 'delete', revision, deleted: count });
const read = (revision: number, ...kvs: KeyValueSeen[]): KvResponse => ({ type: 'range', revision, kvs });
const kv = (key: string, value: string, modRevision: number, createRevision = modRevision, version = 1, lease = '0'): KeyValueSeen => ({ key, value, modRevision, createRevision, version, lease });
const casOnMod = (key: string, modRevision: number, value: string): KvRequest => ({
  type: 'txn',
  compares: [{ key, target: 'mod', op: '=', against: modRevision }],
  success: [{ type: 'put', key, value }],
  failure: [{ type: 'get', key }],
});

/** A violation must be found both by the direct checks (where they apply) and by the search alone. */
function expectViolation(ops: readonly Operation[], because?: string): void {
  expect(checkLinearizable(ops).status, because).toBe('violation');
  expect(checkLinearizable(ops, { directChecks: false }).status, because).toBe('violation');
}

describe('checkLinearizable on hand-written histories', () => {
  it('accepts a sequential history and counts what it linearized', () => {
    const h = history();
    h.ok(0, 0, 1, put('a', '1'), putDone(2));
    h.ok(0, 2, 3, put('b', '2'), putDone(3));
    h.ok(0, 4, 5, put('a', '3'), putDone(4));
    h.ok(0, 6, 7, get('a'), read(4, kv('a', '3', 4, 2, 2)));
    h.ok(0, 8, 9, get('a', 'c'), read(4, kv('a', '3', 4, 2, 2), kv('b', '2', 3)));
    h.ok(0, 10, 11, del('a'), deleted(5, 1));
    h.ok(0, 12, 13, get('a'), read(5));
    h.ok(0, 14, 15, get('', '\0'), read(5, kv('b', '2', 3)));
    const result = checkLinearizable(h.ops);
    expect(result.status).toBe('ok');
    expect(result.linearized).toBe(8);
  });

  it('rejects a sequential history whose read misses a field', () => {
    const h = history();
    h.ok(0, 0, 1, put('a', '1'), putDone(2));
    h.ok(0, 2, 3, put('a', '2'), putDone(3));
    // Version should be 2.
    h.ok(0, 4, 5, get('a'), read(3, kv('a', '2', 3, 2, 1)));
    expectViolation(h.ops);
  });

  it.each([
    { first: 2, second: 3, winner: 'B' },
    { first: 3, second: 2, winner: 'A' },
  ])('accepts overlapping puts taking effect in either order (A at $first, B at $second)', ({ first, second, winner }) => {
    const h = history();
    h.ok(0, 0, 10, put('x', 'A'), putDone(first));
    h.ok(1, 1, 9, put('x', 'B'), putDone(second));
    // A read overlapping both may see the key before either put.
    h.ok(2, 2, 8, get('x'), read(1));
    h.ok(2, 11, 12, get('x'), read(3, kv('x', winner, 3, 2, 2)));
    expect(checkLinearizable(h.ops).status).toBe('ok');
  });

  it('accepts a read overlapping a put seeing either the old or the new value', () => {
    for (const seen of [read(2, kv('k', 'old', 2)), read(3, kv('k', 'new', 3, 2, 2))]) {
      const h = history();
      h.ok(0, 0, 1, put('k', 'old'), putDone(2));
      h.ok(0, 2, 10, put('k', 'new'), putDone(3));
      h.ok(1, 3, 9, get('k'), seen);
      expect(checkLinearizable(h.ops).status).toBe('ok');
    }
  });

  it('rejects overlapping puts whose later read shows the put that came first', () => {
    const h = history();
    h.ok(0, 0, 10, put('x', 'A'), putDone(2));
    h.ok(1, 1, 9, put('x', 'B'), putDone(3));
    h.ok(2, 11, 12, get('x'), read(3, kv('x', 'A', 2)));
    expectViolation(h.ops);
  });

  it('rejects a stale read after a later put returned, and names it', () => {
    // With revision 2 the read could only go before the second put, which it followed.
    for (const [stale, linearized] of [
      [read(3, kv('k', 'old', 2)), 2],
      [read(2, kv('k', 'old', 2)), 1],
    ] as const) {
      const h = history();
      h.ok(0, 0, 1, put('k', 'old'), putDone(2));
      h.ok(0, 2, 3, put('k', 'new'), putDone(3));
      const staleRead = h.ok(1, 4, 5, get('k'), stale);

      const direct = checkLinearizable(h.ops);
      expect(direct.status).toBe('violation');
      expect(direct.stuckOps).toContain(staleRead);
      expect(direct.detail).toContain(`#${staleRead} `);

      const searched = checkLinearizable(h.ops, { directChecks: false });
      expect(searched.status).toBe('violation');
      expect(searched.stuckOps).toContain(staleRead);
      expect(searched.linearized).toBe(linearized);
      expect(searched.detail).toContain('could not place');
      expect(searched.detail).toContain(`#${staleRead} `);
    }
  });

  it('rejects a lost acknowledged write', () => {
    const h = history();
    h.ok(0, 0, 1, put('k', 'v1'), putDone(2));
    h.ok(0, 2, 3, put('k', 'v2'), putDone(3));
    h.ok(1, 4, 5, put('j', 'x'), putDone(4));
    // Never shows v2, though it was acknowledged before the read began.
    h.ok(1, 6, 7, get('k'), read(4, kv('k', 'v1', 2)));
    expectViolation(h.ops);

    const gone = history();
    gone.ok(0, 0, 1, put('k', 'v'), putDone(2));
    gone.ok(1, 2, 3, get('k'), read(2));
    expectViolation(gone.ops);
  });

  it('rejects a wrong revision in a response', () => {
    const skipped = history();
    skipped.ok(0, 0, 1, put('a', '1'), putDone(2));
    skipped.ok(0, 2, 3, put('b', '2'), putDone(4));
    expectViolation(skipped.ops);

    const header = history();
    header.ok(0, 0, 1, put('a', '1'), putDone(2));
    header.ok(0, 2, 3, get('a'), read(3, kv('a', '1', 2)));
    expectViolation(header.ops);

    const reused = history();
    reused.ok(0, 0, 10, put('a', '1'), putDone(2));
    reused.ok(1, 0, 10, put('b', '1'), putDone(2));
    expectViolation(reused.ops);
  });

  it('rejects a read returning a value never written', () => {
    const h = history();
    h.ok(0, 0, 1, put('k', 'real'), putDone(2));
    h.ok(1, 0, 3, get('k'), read(2, kv('k', 'ghost', 2)));
    expectViolation(h.ops);
  });

  it('accepts an unknown put that later shows up in a read', () => {
    const h = history();
    h.unknown(0, 0, put('k', 'u'));
    h.ok(1, 5, 6, get('k'), read(2, kv('k', 'u', 2)));
    h.ok(1, 7, 8, put('k', 'w'), putDone(3));
    h.ok(1, 9, 10, get('k'), read(3, kv('k', 'w', 3, 2, 2)));
    expect(checkLinearizable(h.ops).status).toBe('ok');
  });

  it('accepts an unknown put that only shows in the revisions (it took one no ok write did)', () => {
    const h = history();
    h.unknown(0, 0, put('k', 'u'));
    h.ok(1, 5, 6, put('j', 'x'), putDone(3));
    h.ok(1, 7, 8, get('', '\0'), read(3, kv('j', 'x', 3), kv('k', 'u', 2)));
    expect(checkLinearizable(h.ops).status).toBe('ok');
  });

  it('accepts an unknown put that never took effect', () => {
    const h = history();
    h.unknown(0, 0, put('k', 'u'));
    h.ok(1, 5, 6, get('k'), read(1));
    h.ok(1, 7, 8, put('k', 'w'), putDone(2));
    h.ok(1, 9, 10, get('k'), read(2, kv('k', 'w', 2)));
    expect(checkLinearizable(h.ops).status).toBe('ok');
  });

  it('rejects a read of an unknown put that was called only after the read returned', () => {
    const h = history();
    h.ok(1, 0, 1, get('k'), read(2, kv('k', 'u', 2)));
    h.unknown(0, 2, put('k', 'u'));
    expectViolation(h.ops);
  });

  it('picks the unknown write that fits among several that could fill a revision', () => {
    const h = history();
    h.unknown(0, 0, put('a', 'ua'));
    h.unknown(1, 0, put('b', 'ub'));
    h.unknown(2, 0, del('c'));
    h.unknown(3, 0, put('c', 'uc'));
    h.ok(4, 1, 2, put('z', 'z'), putDone(4));
    // Revisions 2 and 3 were unknown writes: the read says which, in which order.
    h.ok(4, 3, 4, get('', '\0'), read(4, kv('b', 'ub', 2), kv('c', 'uc', 3), kv('z', 'z', 4)));
    expect(checkLinearizable(h.ops).status).toBe('ok');
  });

  it('ignores failed operations and stale reads, but not a read of a failed put', () => {
    const h = history();
    h.failed(0, 0, 1, put('k', 'never'));
    h.ok(1, 0, 1, { type: 'staleRange', key: 'k' }, read(1, kv('k', 'nonsense', 99)));
    h.ok(0, 2, 3, get('k'), read(1));
    expect(checkLinearizable(h.ops).status).toBe('ok');

    const seenFailed = history();
    seenFailed.failed(0, 0, 1, put('k', 'never'));
    seenFailed.ok(0, 2, 3, get('k'), read(2, kv('k', 'never', 2)));
    expectViolation(seenFailed.ops);
  });
});

describe('txn', () => {
  it('accepts a compare-and-swap on the mod revision that succeeds and then one that fails', () => {
    const h = history();
    h.ok(0, 0, 1, put('k', 'v1'), putDone(2));
    h.ok(0, 2, 3, casOnMod('k', 2, 'v2'), { type: 'txn', revision: 3, succeeded: true, results: [{ type: 'put' }] });
    // A failed compare with only a get does not take a revision.
    h.ok(0, 4, 5, casOnMod('k', 2, 'v3'), { type: 'txn', revision: 3, succeeded: false, results: [{ type: 'get', kvs: [kv('k', 'v2', 3, 2, 2)] }] });
    expect(checkLinearizable(h.ops).status).toBe('ok');
  });

  it('rejects a compare-and-swap that claims success on a stale mod revision', () => {
    const h = history();
    h.ok(0, 0, 1, put('k', 'v1'), putDone(2));
    h.ok(0, 2, 3, casOnMod('k', 2, 'v2'), { type: 'txn', revision: 3, succeeded: true, results: [{ type: 'put' }] });
    h.ok(0, 4, 5, casOnMod('k', 2, 'v3'), { type: 'txn', revision: 4, succeeded: true, results: [{ type: 'put' }] });
    expectViolation(h.ops);
  });

  it('lets only one of two concurrent compare-and-swaps win', () => {
    const oneWins = history();
    oneWins.ok(0, 0, 1, put('k', 'v1'), putDone(2));
    oneWins.ok(1, 2, 10, casOnMod('k', 2, 'A'), { type: 'txn', revision: 3, succeeded: false, results: [{ type: 'get', kvs: [kv('k', 'B', 3, 2, 2)] }] });
    oneWins.ok(2, 3, 9, casOnMod('k', 2, 'B'), { type: 'txn', revision: 3, succeeded: true, results: [{ type: 'put' }] });
    expect(checkLinearizable(oneWins.ops).status).toBe('ok');

    const bothWin = history();
    bothWin.ok(0, 0, 1, put('k', 'v1'), putDone(2));
    bothWin.ok(1, 2, 10, casOnMod('k', 2, 'A'), { type: 'txn', revision: 4, succeeded: true, results: [{ type: 'put' }] });
    bothWin.ok(2, 3, 9, casOnMod('k', 2, 'B'), { type: 'txn', revision: 3, succeeded: true, results: [{ type: 'put' }] });
    expectViolation(bothWin.ops);
  });

  it('compares a missing key as etcd does: value compares fail, numbers read 0', () => {
    const txnOn = (target: 'value' | 'mod' | 'version' | 'create', op: '=' | '!=' | '<' | '>', against: string | number): KvRequest => ({
      type: 'txn',
      compares: [{ key: 'missing', target, op, against }],
      success: [],
      failure: [],
    });
    const succeeded = (request: KvRequest): boolean => {
      const applied = applyRequest(initialState(), request);
      return applied?.response.type === 'txn' && applied.response.succeeded;
    };
    expect(succeeded(txnOn('value', '=', 'x'))).toBe(false);
    expect(succeeded(txnOn('value', '!=', 'x'))).toBe(false);
    expect(succeeded(txnOn('value', '>', ''))).toBe(false);
    expect(succeeded(txnOn('version', '=', 0))).toBe(true);
    expect(succeeded(txnOn('mod', '<', 5))).toBe(true);
    expect(succeeded(txnOn('create', '>', 0))).toBe(false);
  });

  it('gives one revision to all puts of a txn, lets its gets see its earlier ops, and reads do not bump', () => {
    const branch: TxnOp[] = [
      { type: 'get', key: 'a' },
      { type: 'put', key: 'a', value: '1' },
      { type: 'put', key: 'b', value: '2' },
      { type: 'get', key: 'a' },
      { type: 'delete', key: 'nothing' },
    ];
    const h = history();
    h.ok(0, 0, 1, { type: 'txn', compares: [], success: branch, failure: [] }, {
      type: 'txn',
      revision: 2,
      succeeded: true,
      results: [{ type: 'get', kvs: [] }, { type: 'put' }, { type: 'put' }, { type: 'get', kvs: [kv('a', '1', 2)] }, { type: 'delete', deleted: 0 }],
    });
    h.ok(0, 2, 3, { type: 'txn', compares: [], success: [{ type: 'get', key: 'b' }], failure: [] }, { type: 'txn', revision: 2, succeeded: true, results: [{ type: 'get', kvs: [kv('b', '2', 2)] }] });
    h.ok(0, 4, 5, get('a', 'c'), read(2, kv('a', '1', 2), kv('b', '2', 2)));
    expect(checkLinearizable(h.ops).status).toBe('ok');

    const bumpedByRead = history();
    bumpedByRead.ok(0, 0, 1, { type: 'txn', compares: [], success: [{ type: 'get', key: 'b' }], failure: [] }, { type: 'txn', revision: 2, succeeded: true, results: [{ type: 'get', kvs: [] }] });
    expectViolation(bumpedByRead.ops);
  });
});

describe('delete', () => {
  it('does not bump the revision when it deletes nothing', () => {
    const h = history();
    h.ok(0, 0, 1, del('nope'), deleted(1, 0));
    h.ok(0, 2, 3, put('a', '1'), putDone(2));
    h.ok(0, 4, 5, del('nope', 'nope\0'), deleted(2, 0));
    h.ok(0, 6, 7, get('a'), read(2, kv('a', '1', 2)));
    expect(checkLinearizable(h.ops).status).toBe('ok');

    for (const claimed of [deleted(2, 0), deleted(2, 1)]) {
      const wrong = history();
      wrong.ok(0, 0, 1, del('nope'), claimed);
      expectViolation(wrong.ops);
    }
  });

  it('deletes a range of keys in one revision', () => {
    const h = history();
    h.ok(0, 0, 1, put('a', '1'), putDone(2));
    h.ok(0, 2, 3, put('b', '2'), putDone(3));
    h.ok(0, 4, 5, put('c', '3'), putDone(4));
    h.ok(0, 6, 7, del('a', 'c'), deleted(5, 2));
    h.ok(0, 8, 9, get('', '\0'), read(5, kv('c', '3', 4)));
    expect(checkLinearizable(h.ops).status).toBe('ok');
  });
});

describe('leases', () => {
  const leaseHistory = (finalRead: KvResponse, revokeRevision = 4) => {
    const h = history();
    h.ok(0, 0, 1, { type: 'leaseGrant', ttl: 60 }, { type: 'leaseGrant', revision: 1, id: '100' });
    h.ok(0, 2, 3, put('k', 'v', '100'), putDone(2));
    h.ok(0, 4, 5, put('j', 'w'), putDone(3));
    h.ok(0, 6, 7, get('k'), read(3, kv('k', 'v', 2, 2, 1, '100')));
    h.ok(0, 8, 9, { type: 'leaseRevoke', id: '100' }, { type: 'leaseRevoke', revision: revokeRevision });
    h.ok(0, 10, 11, get('', '\0'), finalRead);
    return h.ops;
  };

  it('grants a lease, attaches a key, and deletes the key in one revision on revoke', () => {
    expect(checkLinearizable(leaseHistory(read(4, kv('j', 'w', 3)))).status).toBe('ok');
  });

  it('rejects a key that outlives its revoked lease, or a revoke that took no revision', () => {
    expectViolation(leaseHistory(read(4, kv('j', 'w', 3), kv('k', 'v', 2, 2, 1, '100'))));
    expectViolation(leaseHistory(read(3, kv('j', 'w', 3)), 3));
  });

  it('revokes a lease without keys without taking a revision', () => {
    const h = history();
    h.ok(0, 0, 1, { type: 'leaseGrant', ttl: 60 }, { type: 'leaseGrant', revision: 1, id: '7' });
    h.ok(0, 2, 3, { type: 'leaseRevoke', id: '7' }, { type: 'leaseRevoke', revision: 1 });
    h.ok(0, 4, 5, put('a', '1'), putDone(2));
    expect(checkLinearizable(h.ops).status).toBe('ok');
  });

  it('takes a lease id it never saw granted to come from an unknown grant', () => {
    const h = history();
    h.unknown(0, 0, { type: 'leaseGrant', ttl: 60 });
    h.ok(1, 1, 2, put('k', 'v', '555'), putDone(2));
    h.ok(1, 3, 4, { type: 'leaseRevoke', id: '555' }, { type: 'leaseRevoke', revision: 3 });
    h.ok(1, 5, 6, get('k'), read(3));
    expect(checkLinearizable(h.ops).status).toBe('ok');
  });

  it('rejects a put attaching a revoked lease', () => {
    const h = history();
    h.ok(0, 0, 1, { type: 'leaseGrant', ttl: 60 }, { type: 'leaseGrant', revision: 1, id: '100' });
    h.ok(0, 2, 3, { type: 'leaseRevoke', id: '100' }, { type: 'leaseRevoke', revision: 1 });
    h.ok(0, 4, 5, put('k', 'v', '100'), putDone(2));
    expectViolation(h.ops);
  });

  it('orders a put racing the revoke of its lease by what the answers say', () => {
    // The revoke returned first but overlapped the put, and its revision says it deleted the key.
    const h = history();
    h.ok(0, 0, 1, { type: 'leaseGrant', ttl: 60 }, { type: 'leaseGrant', revision: 1, id: '100' });
    h.ok(1, 3, 10, put('k', 'v', '100'), putDone(2));
    h.ok(2, 2, 5, { type: 'leaseRevoke', id: '100' }, { type: 'leaseRevoke', revision: 3 });
    h.ok(0, 11, 12, get('k'), read(3));
    expect(checkLinearizable(h.ops).status).toBe('ok');

    // Revoked (deleting nothing) before the put was called: the put had to fail.
    const late = history();
    late.ok(0, 0, 1, { type: 'leaseGrant', ttl: 60 }, { type: 'leaseGrant', revision: 1, id: '100' });
    late.ok(2, 2, 3, { type: 'leaseRevoke', id: '100' }, { type: 'leaseRevoke', revision: 1 });
    late.ok(1, 4, 10, put('k', 'v', '100'), putDone(2));
    expectViolation(late.ops);
  });
});

describe('compaction', () => {
  it('accepts compacting up to the current revision, which takes no revision', () => {
    const h = history();
    h.ok(0, 0, 1, put('a', '1'), putDone(2));
    h.ok(0, 2, 3, put('a', '2'), putDone(3));
    h.ok(0, 4, 5, { type: 'compact', revision: 2 }, { type: 'compact', revision: 3 });
    h.ok(0, 6, 7, { type: 'compact', revision: 3 }, { type: 'compact', revision: 3 });
    h.ok(0, 8, 9, get('a'), read(3, kv('a', '2', 3, 2, 2)));
    expect(checkLinearizable(h.ops).status).toBe('ok');
  });

  it('rejects an ok compaction of a future revision or with the wrong header revision', () => {
    for (const [compactTo, header] of [
      [10, 3],
      [2, 2],
      [2, 4],
    ] as const) {
      const h = history();
      h.ok(0, 0, 1, put('a', '1'), putDone(2));
      h.ok(0, 2, 3, put('a', '2'), putDone(3));
      h.ok(0, 4, 5, { type: 'compact', revision: compactTo }, { type: 'compact', revision: header });
      expectViolation(h.ops);
    }
  });
});

describe('options', () => {
  it('starts from a given state', () => {
    const h = history();
    h.ok(0, 0, 1, get('k'), read(10, kv('k', 'v', 7, 5, 3)));
    h.ok(0, 2, 3, put('k', 'w'), putDone(11));
    h.ok(0, 4, 5, get('k'), read(11, kv('k', 'w', 11, 5, 4)));
    expect(checkLinearizable(h.ops, { initial: stateFrom({ revision: 10, kvs: [kv('k', 'v', 7, 5, 3)] }) }).status).toBe('ok');
    expectViolation(h.ops);
  });

  it('reports a timeout, never ok, when the budget runs out', () => {
    const { ops } = randomHistory({ seed: 7, clients: 10, operations: 3000, unknownRate: 0.02 });
    expect(checkLinearizable(ops, { maxSteps: 100 }).status).toBe('timeout');
    const result = checkLinearizable(ops, { timeoutMs: 0 });
    expect(result.status).toBe('timeout');
    expect(result.detail).toMatch(/gave up/);
  });
});

/** Replaces, in one ok range read, a record with an older one of the same key an earlier read saw. */
function withStaleRead(ops: readonly Operation[]): Operation[] | undefined {
  // The newer record must come from an ok put, so its revision is certain and the older record
  // cannot be explained by an unknown write.
  const okPutValues = new Set(ops.flatMap((op) => (op.outcome.status === 'ok' && op.request.type === 'put' ? [op.request.value] : [])));
  const firstSeen = new Map<string, KeyValueSeen>();
  for (const op of ops) {
    if (op.request.type !== 'range' || op.outcome.status !== 'ok' || op.outcome.response.type !== 'range') continue;
    const response = op.outcome.response;
    for (const [index, seen] of response.kvs.entries()) {
      const older = firstSeen.get(seen.key);
      if (older === undefined) firstSeen.set(seen.key, seen);
      else if (older.modRevision < seen.modRevision && okPutValues.has(seen.value)) {
        const kvs = response.kvs.map((kv, i) => (i === index ? older : kv));
        return ops.map((o) => (o === op ? { ...op, outcome: { status: 'ok', response: { ...response, kvs } } } : o));
      }
    }
  }
  return undefined;
}

/**
 * Gives one record an ok range read saw, written by an ok plain put, a lease nobody used: the
 * direct checks do not look at leases, so only the search can reject it.
 */
function withWrongLease(ops: readonly Operation[], pick: number): Operation[] | undefined {
  const okPutAt = new Map(ops.flatMap((op) => (op.outcome.status === 'ok' && op.request.type === 'put' ? [[op.outcome.response.revision, op.request.value] as const] : [])));
  const candidates = ops.filter(
    (op) => op.request.type === 'range' && op.outcome.status === 'ok' && op.outcome.response.type === 'range' && op.outcome.response.kvs.some((kv) => okPutAt.get(kv.modRevision) === kv.value),
  );
  const target = candidates[pick % Math.max(1, candidates.length)];
  if (target === undefined || target.outcome.status !== 'ok' || target.outcome.response.type !== 'range') return undefined;
  const response = target.outcome.response;
  const index = response.kvs.findIndex((kv) => okPutAt.get(kv.modRevision) === kv.value);
  const kvs = response.kvs.map((kv, i) => (i === index ? { ...kv, lease: '424242' } : kv));
  return ops.map((o) => (o === target ? { ...target, outcome: { status: 'ok', response: { ...response, kvs } } } : o));
}

/** Replaces the value of one record an ok range read saw with one nobody wrote. */
function withInventedValue(ops: readonly Operation[], pick: number): Operation[] | undefined {
  const reads = ops.filter((op) => op.request.type === 'range' && op.outcome.status === 'ok' && op.outcome.response.type === 'range' && op.outcome.response.kvs.length > 0);
  const target = reads[pick % Math.max(1, reads.length)];
  if (target === undefined || target.outcome.status !== 'ok' || target.outcome.response.type !== 'range') return undefined;
  const response = target.outcome.response;
  const kvs = response.kvs.map((kv, i) => (i === 0 ? { ...kv, value: 'invented' } : kv));
  return ops.map((o) => (o === target ? { ...target, outcome: { status: 'ok', response: { ...response, kvs } } } : o));
}

describe('random histories', () => {
  const seeds = Array.from({ length: 40 }, (_, i) => i + 1);

  it('accepts histories that are linearizable by construction', () => {
    for (const seed of seeds) {
      const { ops } = randomHistory({ seed, clients: 2 + (seed % 7), operations: 150, unknownRate: seed % 3 === 0 ? 0 : 0.05 });
      const result = checkLinearizable(ops);
      expect(result.status, `seed ${seed}: ${result.detail ?? ''}`).toBe('ok');
    }
  });

  it('rejects them once one read is made stale', () => {
    let mutated = 0;
    for (const seed of seeds) {
      const stale = withStaleRead(randomHistory({ seed, clients: 2 + (seed % 7), operations: 150, unknownRate: 0.05 }).ops);
      if (stale === undefined) continue;
      mutated++;
      expectViolation(stale, `seed ${seed}`);
    }
    expect(mutated).toBeGreaterThan(seeds.length / 2);
  });

  it('rejects them once one read shows a value nobody wrote', () => {
    for (const seed of seeds) {
      const invented = withInventedValue(randomHistory({ seed, clients: 2 + (seed % 7), operations: 150, unknownRate: 0.05 }).ops, seed * 7);
      expect(invented, `seed ${seed}`).toBeDefined();
      expectViolation(invented as Operation[], `seed ${seed}`);
    }
  });

  it('rejects them once one read shows a lease the write did not attach (found by the search alone)', () => {
    for (const seed of seeds) {
      const wrongLease = withWrongLease(randomHistory({ seed, clients: 2 + (seed % 7), operations: 150, unknownRate: 0.05 }).ops, seed * 13);
      expect(wrongLease, `seed ${seed}`).toBeDefined();
      const result = checkLinearizable(wrongLease as Operation[]);
      expect(result.status, `seed ${seed}`).toBe('violation');
      expect(result.linearized, `seed ${seed}`).toBeGreaterThan(0);
    }
  });

  it('checks 3,000 operations from 20 clients with 2% unknown outcomes within the default timeout', () => {
    const { ops } = randomHistory({ seed: 2024, clients: 20, operations: 3000, unknownRate: 0.02 });
    const result = checkLinearizable(ops);
    expect(result.status, result.detail).toBe('ok');
  });
});

/** Tries every order and every subset of unknown operations: the specification the search must agree with. */
function linearizableByBruteForce(ops: readonly Operation[]): boolean {
  const relevant = ops.filter((op) => op.outcome.status !== 'failed' && op.request.type !== 'staleRange');
  const placed = new Array<boolean>(relevant.length).fill(false);
  const search = (state: ModelState): boolean => {
    if (relevant.every((op, i) => placed[i] || op.outcome.status !== 'ok')) return true;
    for (const [i, op] of relevant.entries()) {
      if (placed[i]) continue;
      // Something that returned before this was called has to come first.
      if (relevant.some((other, j) => !placed[j] && other.outcome.status === 'ok' && Math.max(other.callMs, other.returnMs) < op.callMs)) continue;
      const after = step(state, op.request, op.outcome.status === 'ok' ? op.outcome.response : undefined);
      if (after === undefined) continue;
      placed[i] = true;
      const found = search(after);
      placed[i] = false;
      if (found) return true;
    }
    return false;
  };
  return search(initialState());
}

/** Changes one ok answer a little, so that the history is usually, but not always, no longer linearizable. */
function perturbed(ops: readonly Operation[], random: () => number): Operation[] {
  const okOps = ops.filter((op) => op.outcome.status === 'ok' && op.request.type !== 'staleRange');
  const target = okOps[Math.floor(random() * okOps.length)];
  if (target === undefined || target.outcome.status !== 'ok') return [...ops];
  const response = target.outcome.response;
  const roll = random();
  let changed: KvResponse = { ...response, revision: response.revision + (roll < 0.5 ? 1 : -1) };
  if (roll < 0.4 && response.type === 'range' && response.kvs.length > 0) {
    const fields = response.kvs.map((kv, i) => (i === 0 ? (roll < 0.2 ? { ...kv, version: kv.version + 1 } : { ...kv, modRevision: kv.modRevision - 1 }) : kv));
    changed = { ...response, kvs: roll < 0.1 ? response.kvs.slice(1) : fields };
  } else if (roll < 0.4 && response.type === 'txn') {
    changed = { ...response, succeeded: !response.succeeded };
  } else if (roll < 0.4 && response.type === 'delete') {
    changed = { ...response, deleted: response.deleted === 0 ? 1 : 0 };
  }
  return ops.map((op) => (op === target ? { ...op, outcome: { status: 'ok', response: changed } } : op));
}

describe('agreement with brute force', () => {
  it('decides tiny random histories, intact or perturbed, exactly as trying every order does', () => {
    const random = seededRandom(99);
    let violations = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const { ops: intact } = randomHistory({ seed, clients: 3, operations: 7, keys: 2, unknownRate: 0.3 });
      const ops = seed % 4 === 0 ? intact : perturbed(intact, random);
      const expected = linearizableByBruteForce(ops) ? 'ok' : 'violation';
      if (expected === 'violation') violations++;
      expect(checkLinearizable(ops).status, `seed ${seed}`).toBe(expected);
      expect(checkLinearizable(ops, { directChecks: false }).status, `seed ${seed}, search alone`).toBe(expected);
    }
    // The perturbations must produce both outcomes for the comparison to mean anything.
    expect(violations).toBeGreaterThan(50);
    expect(violations).toBeLessThan(280);
  });
});

describe('the model', () => {
  it('returns the same state for reads and a new one for writes, leaving the old one intact', () => {
    const before = initialState();
    const after = step(before, put('a', '1'), putDone(2));
    expect(after).toBeDefined();
    expect(before.revision).toBe(1);
    expect(step(before, get('a'), read(1))).toBe(before);
    expect(step(after as NonNullable<typeof after>, get('a'), read(2, kv('a', '1', 2)))).toBe(after);
    // An unknown outcome applies the request.
    expect(step(before, put('a', '1'), undefined)?.revision).toBe(2);
  });
});

describe('ordered map', () => {
  it('orders keys by their UTF-8 bytes', () => {
    const random = seededRandom(3);
    const alphabet = ['a', 'b', '\u00e9', '\uffff', '\ue000', '\u{10000}', '\u{1f600}', '\0'];
    const randomKey = (): string => Array.from({ length: 1 + Math.floor(random() * 3) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let i = 0; i < 2000; i++) {
      const a = randomKey();
      const b = randomKey();
      expect(Math.sign(compareKeys(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
    }
  });

  it('agrees with a sorted array under random inserts and removes, and stays balanced', () => {
    const random = seededRandom(11);
    let map: OrderedMap<number> = undefined;
    const reference = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const key = `k${Math.floor(random() * 300)}`;
      if (random() < 0.6) {
        map = insert(map, key, i);
        reference.set(key, i);
      } else {
        map = remove(map, key);
        reference.delete(key);
      }
    }
    const expected = [...reference.entries()].sort(([a], [b]) => compareKeys(a, b));
    expect(entries(map)).toEqual(expected);
    expect(map === undefined ? 0 : map.height).toBeLessThanOrEqual(Math.ceil(1.45 * Math.log2(reference.size + 2)));
    const inRange: string[] = [];
    visitRange(map, 'k1', 'k2', (key) => {
      inRange.push(key);
      return true;
    });
    expect(inRange).toEqual(expected.map(([key]) => key).filter((key) => compareKeys(key, 'k1') >= 0 && compareKeys(key, 'k2') < 0));
  });
});
