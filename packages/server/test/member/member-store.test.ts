import { describe, expect, it } from 'vitest';
import { openBackend } from '../../src/backend/open-backend.js';
import { KvStore } from '../../src/mvcc/kv-store.js';
import type { MemberInfo } from '../../src/member/cluster-config.js';
import { memberIdFor } from '../../src/member/member-id.js';
import { readMembers, readRemovedMembers, writeMember } from '../../src/member/member-store.js';
import { MembershipService, type MembershipDeps } from '../../src/etcdserver/membership-service.js';
import { REAL_CLOCK } from '../../src/env/real-env.js';
import { confChangeFor } from '../../src/etcdserver/membership.js';
import { encodeConfChange } from '../../src/raft/confchange.js';
import { EntryType, type Entry } from '../../src/raft/types.js';
import { PendingRequests } from '../../src/etcdserver/pending-requests.js';
import { SILENT } from '../../src/logger.js';
import type { RaftNode } from '../../src/raft/raft-node.js';

const m = (id: number, over: Partial<MemberInfo> = {}): MemberInfo => ({
  id,
  name: `n${id}`,
  peerUrls: [`http://127.0.0.1:${2380 + id}`],
  clientUrls: [],
  isLearner: false,
  ...over,
});

async function store() {
  const backend = openBackend({ kind: 'memory', path: '' });
  const kv = await KvStore.open(backend);
  const read = <T>(fn: (view: ReturnType<typeof backend.readTxn>) => T): T => {
    const view = backend.readTxn();
    try {
      return fn(view);
    } finally {
      view.release();
    }
  };
  return { backend, kv, members: () => read(readMembers), removedIds: () => read(readRemovedMembers) };
}

describe('member store', () => {
  it('round-trips members, learner flag and client URLs included', async () => {
    const { kv, members } = await store();
    await kv.write({ consistentIndex: 2, consistentTerm: 1 }, (txn) => {
      writeMember(txn, m(1, { clientUrls: ['http://127.0.0.1:2379'] }));
      writeMember(txn, m(7, { isLearner: true, name: '' }));
    });
    expect(members()).toEqual([m(1, { clientUrls: ['http://127.0.0.1:2379'] }), m(7, { isLearner: true, name: '' })]);
  });
});

describe('memberIdFor with the time (MemberAdd)', () => {
  it('the same URLs added at another second get another id', () => {
    const urls = ['http://127.0.0.1:2380'];
    expect(memberIdFor(urls, 'tok', 1000)).toBe(memberIdFor(urls, 'tok', 1000.9));
    expect(memberIdFor(urls, 'tok', 1000)).not.toBe(memberIdFor(urls, 'tok', 1001));
    expect(memberIdFor(urls, 'tok', 1000)).not.toBe(memberIdFor(urls, 'tok'));
  });
});

describe('MembershipService applying changes', () => {
  async function setup(initial: MemberInfo[], removedIds: number[] = []) {
    const s = await store();
    const peers: string[] = [];
    const pending = new PendingRequests<{ revision: number; body: unknown }>(1);
    let removedSelf = 0;
    const deps: MembershipDeps = {
      selfId: 1,
      clusterToken: 'tok',
      logger: SILENT,
      node: () => ({}) as RaftNode,
      peers: {
        addPeer: (id) => peers.push(`add ${id}`),
        updatePeer: (id, urls) => peers.push(`update ${id} ${urls.join(',')}`),
        removePeer: (id) => peers.push(`remove ${id}`),
      },
      pending,
      requestTimeoutMs: 1000,
      proposeConfChange: () => undefined,
      mapError: (e) => e,
      waitApplied: () => Promise.resolve(),
      write: (ci, fn) => s.kv.write(ci, fn),
      onRemovedSelf: () => removedSelf++,
      clock: REAL_CLOCK,
    };
    const svc = new MembershipService(deps, initial, removedIds);
    const entry = (index: number, change: Parameters<typeof confChangeFor>[0]): Entry => ({
      term: 2,
      index,
      type: EntryType.ConfChange,
      data: encodeConfChange(confChangeFor(change)),
    });
    return { ...s, svc, peers, pending, entry, removed: () => removedSelf };
  }

  it('writes the member and the consistent index in one write, updates peers, answers the proposer', async () => {
    const t = await setup([m(1), m(2)]);
    const { id, done } = t.pending.register();
    await t.svc.applyConfChange(t.entry(5, { kind: 'add', member: m(3, { name: '', isLearner: true }), requestId: id }), {
      consistentIndex: 5,
      consistentTerm: 2,
    });
    expect(t.kv.consistentIndex).toEqual({ consistentIndex: 5, consistentTerm: 2 });
    expect(t.members().map((x) => [x.id, x.isLearner])).toEqual([[3, true]]);
    expect(t.peers).toEqual(['add 3']);
    expect(((await done).body as MemberInfo[]).map((x) => x.id)).toEqual([1, 2, 3]);
    expect(t.svc.members.map((x) => x.id)).toEqual([1, 2, 3]);
  });

  it('refuses with etcd\'s error what Raft also ignores, still recording the index', async () => {
    const t = await setup([m(1), m(2)]);
    const { id, done } = t.pending.register();
    await t.svc.applyConfChange(t.entry(6, { kind: 'remove', member: m(9), requestId: id }), { consistentIndex: 6, consistentTerm: 2 });
    await expect(done).rejects.toMatchObject({ message: 'etcdserver: member not found' });
    expect(t.kv.consistentIndex.consistentIndex).toBe(6);
    expect(t.peers).toEqual([]);
  });

  it('applies published attributes and tells a removed member it was removed', async () => {
    const t = await setup([m(1), m(2, { name: '' })]);
    await t.kv.write({ consistentIndex: 3, consistentTerm: 1 }, (txn) =>
      t.svc.applyAttributes({ ID: 2, name: 'n2', clientUrls: ['http://127.0.0.1:2372'] }, txn),
    );
    expect(t.members()).toEqual([m(2, { clientUrls: ['http://127.0.0.1:2372'] })]);
    expect(t.svc.member(2)?.name).toBe('n2');
    await t.svc.applyConfChange(t.entry(4, { kind: 'remove', member: m(1), requestId: 0 }), { consistentIndex: 4, consistentTerm: 1 });
    expect(t.removed()).toBe(1);
    expect(t.svc.members.map((x) => x.id)).toEqual([2]);
  });

  it('keeps a removed member\'s id: a service started from the backend refuses it at the transport', async () => {
    const t = await setup([m(1), m(2), m(3)]);
    await t.kv.write({ consistentIndex: 3, consistentTerm: 1 }, (txn) => {
      for (const x of [m(1), m(2), m(3)]) writeMember(txn, x);
    });
    await t.svc.applyConfChange(t.entry(4, { kind: 'remove', member: m(3), requestId: 0 }), { consistentIndex: 4, consistentTerm: 1 });
    expect(t.removedIds()).toEqual([3]);
    expect(t.members().map((x) => x.id)).toEqual([1, 2]);
    // After a restart: the removed id is refused before the listed peers are dialled.
    const restarted = await setup(t.members(), t.removedIds());
    restarted.svc.connectPeers();
    expect(restarted.peers).toEqual(['remove 3', 'add 2']);
    // A snapshot from the leader brings the ids it removed; the ones held stay refused.
    restarted.peers.length = 0;
    restarted.svc.replaceAll([m(1), m(2)], [4]);
    expect(restarted.peers).toEqual(['remove 3', 'remove 4', 'add 2']);
  });
});
