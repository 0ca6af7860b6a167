import { describe, expect, it } from 'vitest';
import { ETCD_ERRORS } from '@kvfleet/core';
import type { MemberInfo } from '../../src/member/cluster-config.js';
import { decodeConfChange, encodeConfChange } from '../../src/raft/confchange.js';
import { ConfChangeType } from '../../src/raft/types.js';
import {
  applyMemberChange,
  checkAddMember,
  checkLearnerReady,
  checkPromoteMember,
  checkRemoveMember,
  confChangeFor,
  isReadyToAddVotingMember,
  memberChangeFromConfChange,
  validateMemberChange,
  type MemberChange,
} from '../../src/etcdserver/membership.js';

const m = (id: number, over: Partial<MemberInfo> = {}): MemberInfo => ({
  id,
  name: `n${id}`,
  peerUrls: [`http://127.0.0.1:${2380 + id}`],
  clientUrls: [`http://127.0.0.1:${2370 + id}`],
  isLearner: false,
  ...over,
});
const three = [m(1), m(2), m(3)];
const allActive = { selfId: 1, isActive: () => true };
const errName = (e: { entry: { name: string } } | undefined) => e?.entry.name;

describe('conf change context', () => {
  it('carries the member and the request id through the entry encoding', () => {
    const change: MemberChange = { kind: 'add', member: m(9, { name: '', isLearner: true }), requestId: 77 };
    const cc = confChangeFor(change);
    expect(cc.type).toBe(ConfChangeType.AddLearner);
    expect(cc.nodeId).toBe(9);
    expect(memberChangeFromConfChange(decodeConfChange(encodeConfChange(cc)))).toEqual(change);
  });

  it('maps each kind to etcd\'s ConfChange type', () => {
    const type = (kind: MemberChange['kind'], isLearner = false) => confChangeFor({ kind, member: m(4, { isLearner }), requestId: 1 }).type;
    expect(type('add')).toBe(ConfChangeType.AddNode);
    expect(type('add', true)).toBe(ConfChangeType.AddLearner);
    expect(type('promote')).toBe(ConfChangeType.AddNode);
    expect(type('remove')).toBe(ConfChangeType.RemoveNode);
    expect(type('update')).toBe(ConfChangeType.UpdateNode);
  });

  it('reads an old 9-byte entry without a context as a bare change', () => {
    const change = memberChangeFromConfChange(decodeConfChange(encodeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 5 })));
    expect(change.kind).toBe('remove');
    expect(change.member.id).toBe(5);
    expect(change.requestId).toBe(0);
  });

  it('refuses a context naming another member than the entry', () => {
    const cc = confChangeFor({ kind: 'add', member: m(4), requestId: 1 });
    expect(() => memberChangeFromConfChange({ ...cc, nodeId: 5 })).toThrow(/corrupt/);
  });
});

describe('validateMemberChange (etcd ValidateConfigurationChange)', () => {
  it('add: refuses an existing id, a peer URL in use, a second learner', () => {
    expect(errName(validateMemberChange(three, { kind: 'add', member: m(2), requestId: 0 }))).toBe('ErrGRPCMemberExist');
    const samePeer = m(8, { peerUrls: [m(3).peerUrls[0]!] });
    expect(errName(validateMemberChange(three, { kind: 'add', member: samePeer, requestId: 0 }))).toBe('ErrGRPCPeerURLExist');
    const withLearner = [...three, m(4, { isLearner: true })];
    expect(errName(validateMemberChange(withLearner, { kind: 'add', member: m(5, { isLearner: true }), requestId: 0 }))).toBe(
      'ErrGRPCTooManyLearners',
    );
    expect(validateMemberChange(withLearner, { kind: 'add', member: m(5), requestId: 0 })).toBeUndefined();
    expect(validateMemberChange(three, { kind: 'add', member: m(4, { isLearner: true }), requestId: 0 })).toBeUndefined();
  });

  it('add: an id removed before never comes back', () => {
    expect(errName(validateMemberChange(three, { kind: 'add', member: m(4), requestId: 0 }, new Set([4])))).toBe('ErrGRPCMemberExist');
  });

  it('remove, update, promote: the member must exist', () => {
    for (const kind of ['remove', 'update', 'promote'] as const) {
      expect(errName(validateMemberChange(three, { kind, member: m(9), requestId: 0 }))).toBe('ErrGRPCMemberNotFound');
    }
  });

  it('update: refuses another member\'s peer URL, accepts its own', () => {
    const stolen = m(1, { peerUrls: [m(2).peerUrls[0]!] });
    expect(errName(validateMemberChange(three, { kind: 'update', member: stolen, requestId: 0 }))).toBe('ErrGRPCPeerURLExist');
    expect(validateMemberChange(three, { kind: 'update', member: m(1), requestId: 0 })).toBeUndefined();
  });

  it('promote: only a learner', () => {
    expect(errName(validateMemberChange(three, { kind: 'promote', member: m(2), requestId: 0 }))).toBe('ErrGRPCMemberNotLearner');
    const withLearner = [...three, m(4, { isLearner: true })];
    expect(validateMemberChange(withLearner, { kind: 'promote', member: m(4), requestId: 0 })).toBeUndefined();
  });
});

describe('applyMemberChange', () => {
  it('adds, removes, promotes and updates peer URLs, keeping the list sorted', () => {
    const added = applyMemberChange(three, { kind: 'add', member: m(0, { name: '', isLearner: true }), requestId: 0 });
    expect(added.map((x) => x.id)).toEqual([0, 1, 2, 3]);
    const promoted = applyMemberChange(added, { kind: 'promote', member: m(0), requestId: 0 });
    expect(promoted.find((x) => x.id === 0)).toMatchObject({ isLearner: false, name: '' });
    const updated = applyMemberChange(promoted, { kind: 'update', member: m(2, { peerUrls: ['http://10.0.0.2:2380'], name: 'x' }), requestId: 0 });
    // Only the URLs change: the name is the member's own to publish.
    expect(updated.find((x) => x.id === 2)).toMatchObject({ peerUrls: ['http://10.0.0.2:2380'], name: 'n2' });
    expect(applyMemberChange(updated, { kind: 'remove', member: m(2), requestId: 0 }).map((x) => x.id)).toEqual([0, 1, 3]);
  });

  it('does not mutate its input', () => {
    const before = JSON.stringify(three);
    applyMemberChange(three, { kind: 'remove', member: m(1), requestId: 0 });
    applyMemberChange(three, { kind: 'update', member: m(1, { peerUrls: ['http://x:1'] }), requestId: 0 });
    expect(JSON.stringify(three)).toBe(before);
  });
});

describe('strict reconfiguration checks (etcd 3.4 mayAddMember / mayRemoveMember / mayPromoteMember)', () => {
  it('adding a voter needs every voter reachable: one down is an unhealthy cluster', () => {
    expect(checkAddMember(three, false, allActive)).toBeUndefined();
    const twoDown = { selfId: 1, isActive: (id: number) => id !== 3 };
    expect(checkAddMember(three, false, twoDown)?.message).toBe(ETCD_ERRORS.ErrGRPCUnhealthy.message);
    expect(checkAddMember(three, true, twoDown)?.message).toBe(ETCD_ERRORS.ErrGRPCUnhealthy.message);
  });

  it('adding a voter needs enough started (named) voters', () => {
    const unstarted = [m(1), m(2, { name: '' }), m(3, { name: '' })];
    expect(isReadyToAddVotingMember(unstarted)).toBe(false);
    expect(errName(checkAddMember(unstarted, false, allActive))).toBe('ErrGRPCMemberNotEnoughStarted');
    expect(checkAddMember(unstarted, true, allActive)).toBeUndefined();
    // A one-member cluster may always get its second member.
    expect(isReadyToAddVotingMember([m(1)])).toBe(true);
  });

  it('removing a voter: a down member may go, but not a live one when that breaks the active quorum', () => {
    const threeDown = { selfId: 1, isActive: (id: number) => id !== 3 };
    expect(checkRemoveMember(three, 3, threeDown)).toBeUndefined();
    expect(checkRemoveMember(three, 2, threeDown)?.message).toBe(ETCD_ERRORS.ErrGRPCUnhealthy.message);
    expect(checkRemoveMember(three, 2, allActive)).toBeUndefined();
    // Learners never count.
    expect(checkRemoveMember([...three, m(4, { isLearner: true })], 4, threeDown)).toBeUndefined();
    // Removing oneself (the leader) is checked like any live voter.
    expect(checkRemoveMember(three, 1, allActive)).toBeUndefined();
    expect(checkRemoveMember(three, 1, threeDown)?.message).toBe(ETCD_ERRORS.ErrGRPCUnhealthy.message);
  });

  it('promoting: the learner must have 90% of the leader\'s log', () => {
    expect(errName(checkLearnerReady(80, 100))).toBe('ErrGRPCLearnerNotReady');
    expect(checkLearnerReady(90, 100)).toBeUndefined();
    expect(checkLearnerReady(100, 100)).toBeUndefined();
    expect(checkLearnerReady(undefined, 100)).toBeUndefined();
    expect(checkPromoteMember([...three, m(4, { isLearner: true })])).toBeUndefined();
  });
});
