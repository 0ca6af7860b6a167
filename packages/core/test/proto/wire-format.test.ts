import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, messageType, protoRoot, serviceType } from '../../src/proto/loader.js';
import { decodeInternalRaftRequest, encodeInternalRaftRequest } from '../../src/proto/internal.js';
import type { RangeRequest, Compare } from '../../src/proto/kv.js';
import type { WatchRequest } from '../../src/proto/watch.js';
import { EventType, FilterType, SortOrder, SortTarget } from '../../src/proto/index.js';

/** Hex of a message encoded from a plain object. */
const hex = (type: string, value: object): string => Buffer.from(encodeMessage(type, value)).toString('hex');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Hex with spaces stripped, so expectations can be grouped per field. */
const h = (s: string): string => s.replace(/\s+/g, '');

describe('field numbers against hand-computed bytes', () => {
  it('RangeRequest: key=1 range_end=2 limit=3 revision=4 sort=5,6 serializable=7 keys_only=8 count_only=9 min_mod=10 max_create=13', () => {
    expect(
      hex('etcdserverpb.RangeRequest', {
        key: utf8('a'),
        rangeEnd: utf8('b'),
        limit: 5,
        revision: 7,
        sortOrder: SortOrder.DESCEND,
        sortTarget: SortTarget.MOD,
        serializable: true,
        keysOnly: true,
        countOnly: true,
        minModRevision: 3,
        maxCreateRevision: 300,
      }),
    ).toBe(h('0a0161 120162 1805 2007 2802 3003 3801 4001 4801 5003 68ac02'));
  });

  it('negative int64 is a ten-byte varint (RangeRequest.revision = -1)', () => {
    expect(hex('etcdserverpb.RangeRequest', { revision: -1 })).toBe(h('20 ffffffffffffffffff01'));
  });

  it('PutRequest: lease=3 prev_kv=4 ignore_value=5 ignore_lease=6', () => {
    expect(
      hex('etcdserverpb.PutRequest', {
        key: utf8('k'),
        value: utf8('v'),
        lease: 0x1234,
        prevKv: true,
        ignoreValue: true,
        ignoreLease: true,
      }),
    ).toBe(h('0a016b 120176 18b424 2001 2801 3001'));
  });

  it('WatchRequest.create_request=1 and WatchCreateRequest progress_notify=4 filters=5 (packed) prev_kv=6 watch_id=7 fragment=8', () => {
    const create = h('0a0161 18ac02 2001 2a0101 3001 3809 4001');
    expect(
      hex('etcdserverpb.WatchRequest', {
        createRequest: {
          key: utf8('a'),
          startRevision: 300,
          progressNotify: true,
          filters: [FilterType.NODELETE],
          prevKv: true,
          watchId: 9,
          fragment: true,
        },
      }),
    ).toBe('0a' + (create.length / 2).toString(16).padStart(2, '0') + create);
    expect(hex('etcdserverpb.WatchRequest', { cancelRequest: { watchId: 3 } })).toBe(h('12 02 0803'));
    expect(hex('etcdserverpb.WatchRequest', { progressRequest: {} })).toBe(h('1a 00'));
  });

  it('WatchResponse: compact_revision=5 cancel_reason=6 fragment=7 events=11', () => {
    expect(
      hex('etcdserverpb.WatchResponse', {
        header: { revision: 5 },
        watchId: 1,
        created: true,
        canceled: true,
        compactRevision: 100,
        cancelReason: 'x',
        fragment: true,
        events: [{ type: EventType.DELETE, kv: { key: utf8('a') } }],
      }),
    ).toBe(h('0a02 1805  1001 1801 2001 2864 320178 3801  5a07 0801 1203 0a0161'));
  });

  it('ResponseHeader cluster_id=1 member_id=2 revision=3 raft_term=4; KeyValue fields 1..6', () => {
    expect(hex('etcdserverpb.ResponseHeader', { clusterId: 1, memberId: 2, revision: 3, raftTerm: 4 })).toBe(
      h('0801 1002 1803 2004'),
    );
    expect(
      hex('mvccpb.KeyValue', { key: utf8('k'), createRevision: 2, modRevision: 3, version: 4, value: utf8('v'), lease: 6 }),
    ).toBe(h('0a016b 1002 1803 2004 2a0176 3006'));
  });

  it('LeaseGrantRequest TTL=1 ID=2; LeaseCheckpoint remaining_TTL=2', () => {
    expect(hex('etcdserverpb.LeaseGrantRequest', { TTL: 60, ID: 1000 })).toBe(h('083c 10e807'));
    expect(hex('etcdserverpb.LeaseCheckpoint', { ID: 1, remaining_TTL: 30 })).toBe(h('0801 101e'));
  });

  it('Compare: target_union members 4..8 and range_end=64', () => {
    expect(hex('etcdserverpb.Compare', { result: 3, target: 2, key: utf8('k'), modRevision: 9, rangeEnd: utf8('z') })).toBe(
      h('0803 1002 1a016b 3009 8204017a'),
    );
    expect(hex('etcdserverpb.Compare', { target: 3, value: utf8('v') })).toBe(h('1003 3a0176'));
    expect(hex('etcdserverpb.Compare', { target: 4, lease: 7 })).toBe(h('1004 4007'));
  });

  it('StatusResponse raftAppliedIndex=7 errors=8 dbSizeInUse=9 isLearner=10; Member isLearner=5', () => {
    expect(
      hex('etcdserverpb.StatusResponse', { raftAppliedIndex: 1, errors: ['e'], dbSizeInUse: 2, isLearner: true }),
    ).toBe(h('3801 420165 4802 5001'));
    expect(hex('etcdserverpb.Member', { ID: 1, name: 'n', isLearner: true })).toBe(h('0801 12016e 2801'));
  });

  it('InternalRaftRequest: header=100, put=4, lease_checkpoint=11', () => {
    const bytes = encodeInternalRaftRequest({ header: { ID: 7 }, put: { key: utf8('k') } });
    expect(Buffer.from(bytes).toString('hex')).toBe(h('2203 0a016b a20602 0807'));
    const back = decodeInternalRaftRequest(bytes);
    expect(back.request).toBe('put');
    expect(back.header?.ID.toString()).toBe('7');
    expect(Buffer.from(back.put!.key).toString()).toBe('k');
    expect(back.range).toBeNull();
    const cp = encodeInternalRaftRequest({ leaseCheckpoint: { checkpoints: [{ ID: 1, remaining_TTL: 2 }] } });
    expect(Buffer.from(cp).toString('hex')).toBe(h('5a06 0a04 0801 1002'));
  });
});

describe('decoding', () => {
  it('round-trips a Txn with nested ops and reports oneof members', () => {
    const bytes = encodeMessage('etcdserverpb.TxnRequest', {
      compare: [{ result: 0, target: 0, key: utf8('k'), version: 0 }],
      success: [{ requestPut: { key: utf8('k'), value: utf8('v') } }],
      failure: [{ requestRange: { key: utf8('k') } }],
    });
    const txn = decodeMessage<{ compare: Compare[]; success: { request: string }[]; failure: { request: string }[] }>(
      'etcdserverpb.TxnRequest',
      bytes,
    );
    // version = 0 is still sent inside a oneof, so the member is known.
    expect(txn.compare[0]!.targetUnion).toBe('version');
    expect(txn.success[0]!.request).toBe('requestPut');
    expect(txn.failure[0]!.request).toBe('requestRange');
  });

  it('absent fields read as typed defaults: bytes are empty Uint8Arrays, int64 Long zero, messages null', () => {
    const r = decodeMessage<RangeRequest>('etcdserverpb.RangeRequest', new Uint8Array());
    expect(r.key).toBeInstanceOf(Uint8Array);
    expect(r.key.length).toBe(0);
    expect(r.rangeEnd).toBeInstanceOf(Uint8Array);
    expect(r.limit.toString()).toBe('0');
    expect(r.sortOrder).toBe(0);
    expect(r.serializable).toBe(false);
    const w = decodeMessage<WatchRequest>('etcdserverpb.WatchRequest', new Uint8Array());
    expect(w.requestUnion).toBeUndefined();
    expect(w.createRequest).toBeNull();
  });

  it('decoded bytes fields are Uint8Arrays with the sent content', () => {
    const w = decodeMessage<WatchRequest>(
      'etcdserverpb.WatchRequest',
      encodeMessage('etcdserverpb.WatchRequest', { createRequest: { key: utf8('foo'), rangeEnd: new Uint8Array([0]) } }),
    );
    expect(w.requestUnion).toBe('createRequest');
    expect(w.createRequest!.key).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(w.createRequest!.key).toString()).toBe('foo');
    expect([...w.createRequest!.rangeEnd]).toEqual([0]);
    expect(w.createRequest!.filters).toEqual([]);
  });

  it('accepts unpacked repeated enums too (older encoders)', () => {
    // filters=5 as two unpacked varints: 28 00 28 01
    const w = decodeMessage<WatchRequest>('etcdserverpb.WatchRequest', Buffer.from(h('0a04 2800 2801'), 'hex'));
    expect(w.createRequest!.filters).toEqual([FilterType.NOPUT, FilterType.NODELETE]);
  });
});

describe('schema shape', () => {
  const methods = (svc: string): string[] =>
    serviceType(svc).methodsArray.map(
      (m) => `${m.name}${m.requestStream ? ' <-stream' : ''}${m.responseStream ? ' stream->' : ''}`,
    );

  it('has every etcd v3.5 service method with its streaming flags', () => {
    expect(methods('etcdserverpb.KV')).toEqual(['Range', 'Put', 'DeleteRange', 'Txn', 'Compact']);
    expect(methods('etcdserverpb.Watch')).toEqual(['Watch <-stream stream->']);
    expect(methods('etcdserverpb.Lease')).toEqual([
      'LeaseGrant',
      'LeaseRevoke',
      'LeaseKeepAlive <-stream stream->',
      'LeaseTimeToLive',
      'LeaseLeases',
    ]);
    expect(methods('etcdserverpb.Cluster')).toEqual([
      'MemberAdd',
      'MemberRemove',
      'MemberUpdate',
      'MemberList',
      'MemberPromote',
    ]);
    expect(methods('etcdserverpb.Maintenance')).toEqual([
      'Alarm',
      'Status',
      'Defragment',
      'Hash',
      'HashKV',
      'Snapshot stream->',
      'MoveLeader',
      'Downgrade',
    ]);
    expect(methods('etcdserverpb.Auth')).toHaveLength(17);
    expect(methods('v3electionpb.Election')).toEqual(['Campaign', 'Proclaim', 'Leader', 'Observe stream->', 'Resign']);
    expect(methods('v3lockpb.Lock')).toEqual(['Lock', 'Unlock']);
  });

  it('uses the camelCase names our interfaces declare', () => {
    const names = (t: string): string[] => messageType(t).fieldsArray.map((f) => f.name);
    expect(names('etcdserverpb.LeaseTimeToLiveResponse')).toEqual(['header', 'ID', 'TTL', 'grantedTTL', 'keys']);
    expect(names('etcdserverpb.LeaseCheckpoint')).toEqual(['ID', 'remaining_TTL']);
    expect(names('etcdserverpb.StatusResponse')).toContain('dbSizeInUse');
    expect(names('etcdserverpb.WatchResponse')).toContain('cancelReason');
    expect(names('etcdserverpb.SnapshotResponse')).toEqual(['header', 'remainingBytes', 'blob']);
    expect(names('authpb.UserAddOptions')).toEqual(['noPassword']);
  });

  it('parses once', () => {
    expect(protoRoot()).toBe(protoRoot());
    expect(messageType('etcdserverpb.RangeRequest')).toBe(protoRoot().lookupType('etcdserverpb.RangeRequest'));
    expect(() => messageType('etcdserverpb.Nope')).toThrow(/no message type named etcdserverpb\.Nope/);
  });
});
