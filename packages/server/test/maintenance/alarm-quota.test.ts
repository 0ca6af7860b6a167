import { describe, expect, it } from 'vitest';
import { ETCD_ERRORS, proto } from '@kvfleet/core';
import { MemoryBackend } from '../../src/backend/memory-backend.js';
import { KvStore } from '../../src/mvcc/kv-store.js';
import { AlarmStore, alarmText } from '../../src/maintenance/alarm-store.js';
import { quotaAvailable, quotaCost, txnQuotaCost } from '../../src/maintenance/quota.js';
import type { PutRequest, TxnRequest } from '../../src/apply/requests.js';

const put = (key: string, value: string): PutRequest => ({
  key: Buffer.from(key),
  value: Buffer.from(value),
  lease: 0,
  prevKv: false,
  ignoreValue: false,
  ignoreLease: false,
});
const { ACTIVATE, DEACTIVATE, GET } = proto.AlarmAction;
const { NONE, NOSPACE, CORRUPT } = proto.AlarmType;

describe('quota (etcd quota.go)', () => {
  it('costs 256 + key + value per put, 64 per lease, the dearer txn branch (top-level puts only)', () => {
    expect(quotaCost({ put: put('ab', 'cde') })).toBe(261);
    expect(quotaCost({ leaseGrant: { ID: 1, TTL: 10 } })).toBe(64);
    const nested: TxnRequest = { compare: [], success: [{ requestPut: put('x', '') }], failure: [] };
    const txn: TxnRequest = {
      compare: [],
      success: [{ requestPut: put('a', '1') }, { requestDeleteRange: { key: Buffer.from('a'), rangeEnd: new Uint8Array(0), prevKv: false } }],
      failure: [{ requestPut: put('a', '1') }, { requestPut: put('bb', '22') }, { requestTxn: nested }],
    };
    expect(txnQuotaCost(txn)).toBe(258 + 260);
    expect(txnQuotaCost({ compare: [], success: [], failure: [] })).toBe(0);
  });

  it('admits a write only while size + cost stays strictly below the quota; 0 means 2 GiB', () => {
    expect(quotaAvailable(1000 - 262, 1000, { put: put('a', 'b') })).toBe(true);
    expect(quotaAvailable(1000 - 258, 1000, { put: put('a', 'b') })).toBe(false);
    // A txn that puts nothing always passes (etcd 3.4.23 answers an empty txn on a full store).
    expect(quotaAvailable(5000, 1000, { txn: { compare: [], success: [], failure: [] } })).toBe(true);
    expect(quotaAvailable(2 ** 31 - 100, 0, { leaseGrant: { ID: 1, TTL: 1 } })).toBe(true);
    expect(quotaAvailable(2 ** 31 - 64, 0, { leaseGrant: { ID: 1, TTL: 1 } })).toBe(false);
  });
});

describe('AlarmStore', () => {
  async function setup(): Promise<{ store: AlarmStore; kv: KvStore; backend: MemoryBackend; apply: (action: number, memberID: number, alarm: number) => Promise<unknown> }> {
    const backend = MemoryBackend.open();
    const kv = await KvStore.open(backend);
    const store = new AlarmStore();
    let index = 1;
    const apply = async (action: number, memberID: number, alarm: number) =>
      (await kv.write({ consistentIndex: index++, consistentTerm: 1 }, (txn) => store.apply({ action, memberID, alarm }, txn))).result;
    return { store, kv, backend, apply };
  }

  it('activates once per member and type, lists by type, deactivates, and survives a reload', async () => {
    const { store, backend, apply } = await setup();
    expect(await apply(ACTIVATE, 7, NOSPACE)).toEqual([{ memberID: 7, alarm: NOSPACE }]);
    expect(await apply(ACTIVATE, 7, NOSPACE)).toEqual([]);
    expect(await apply(ACTIVATE, 3, NOSPACE)).toEqual([{ memberID: 3, alarm: NOSPACE }]);
    expect(await apply(ACTIVATE, 3, NONE)).toEqual([]);
    expect(await apply(ACTIVATE, 9, CORRUPT)).toEqual([{ memberID: 9, alarm: CORRUPT }]);
    expect(await apply(GET, 0, NONE)).toEqual([
      { memberID: 3, alarm: NOSPACE },
      { memberID: 7, alarm: NOSPACE },
      { memberID: 9, alarm: CORRUPT },
    ]);
    expect(await apply(GET, 0, CORRUPT)).toEqual([{ memberID: 9, alarm: CORRUPT }]);
    expect(await apply(DEACTIVATE, 7, NOSPACE)).toEqual([{ memberID: 7, alarm: NOSPACE }]);
    expect(await apply(DEACTIVATE, 7, NOSPACE)).toEqual([]);
    const reloaded = new AlarmStore();
    const view = backend.readTxn();
    reloaded.recover(view);
    view.release();
    expect(reloaded.get()).toEqual(store.get());
    expect(reloaded.statusErrors()).toEqual(['memberID:3 alarm:NOSPACE ', 'memberID:9 alarm:CORRUPT ']);
  });

  it('while NOSPACE is raised refuses puts, txns with puts and lease grants, not deletes or compaction', async () => {
    const { store, apply } = await setup();
    const req = (body: object) => ({ id: 1, ...body }) as never;
    expect(store.refusal(req({ put: put('a', 'b') }))).toBeUndefined();
    await apply(ACTIVATE, 1, NOSPACE);
    expect(store.refusal(req({ put: put('a', 'b') }))?.message).toBe(ETCD_ERRORS.ErrGRPCNoSpace.message);
    expect(store.refusal(req({ leaseGrant: { ID: 1, TTL: 5 } }))?.message).toBe(ETCD_ERRORS.ErrGRPCNoSpace.message);
    expect(store.refusal(req({ txn: { compare: [], success: [{ requestPut: put('a', '') }], failure: [] } }))).toBeDefined();
    expect(store.refusal(req({ txn: { compare: [], success: [], failure: [] } }))).toBeUndefined();
    expect(store.refusal(req({ deleteRange: { key: Buffer.from('a'), rangeEnd: new Uint8Array(0), prevKv: false } }))).toBeUndefined();
    expect(store.refusal(req({ compaction: { revision: 1, physical: false } }))).toBeUndefined();
    expect(store.refusal(req({ leaseRevoke: { ID: 1 } }))).toBeUndefined();
    await apply(DEACTIVATE, 1, NOSPACE);
    expect(store.refusal(req({ put: put('a', 'b') }))).toBeUndefined();
    await apply(ACTIVATE, 1, CORRUPT);
    expect(store.refusal(req({ deleteRange: { key: Buffer.from('a'), rangeEnd: new Uint8Array(0), prevKv: false } }))?.message).toBe(
      ETCD_ERRORS.ErrGRPCCorrupt.message,
    );
  });

  it('prints an alarm as etcd prints an AlarmMember', () => {
    expect(alarmText({ memberID: 2 ** 52 + 1, alarm: NOSPACE })).toBe(`memberID:${String(2 ** 52 + 1)} alarm:NOSPACE `);
  });
});
