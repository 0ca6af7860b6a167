/**
 * The cluster's member list, kept in the backend (bucket `members`) so it travels with
 * snapshots and survives restarts: a restarting member or one restored from a leader's
 * snapshot learns its peers from here, not from flags. The ids of removed members are kept
 * too (bucket `members_removed`, as etcd's), so a member refuses a removed one's calls after
 * any restart (etcd's 410 Gone): that refusal is how a member removed while it was away
 * learns it.
 */
import type { ReadView } from '../backend/backend.js';
import type { KvWriteTxn } from '../mvcc/kv-write-txn.js';
import type { MemberInfo } from './cluster-config.js';

export const MEMBERS_BUCKET = 'members';
export const MEMBERS_REMOVED_BUCKET = 'members_removed';

function memberKey(id: number): Uint8Array {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setBigUint64(0, BigInt(id));
  return key;
}

export function writeMember(txn: KvWriteTxn, member: MemberInfo): void {
  const record = {
    id: member.id,
    name: member.name,
    peerUrls: member.peerUrls,
    clientUrls: member.clientUrls,
    isLearner: member.isLearner,
  };
  txn.putAux(MEMBERS_BUCKET, memberKey(member.id), new TextEncoder().encode(JSON.stringify(record)));
}

/** Takes `id` out of the list and records it as removed for good. */
export function removeMember(txn: KvWriteTxn, id: number): void {
  txn.deleteAux(MEMBERS_BUCKET, memberKey(id));
  txn.putAux(MEMBERS_REMOVED_BUCKET, memberKey(id), new Uint8Array([1]));
}

export function readRemovedMembers(view: ReadView): number[] {
  return view.range(MEMBERS_REMOVED_BUCKET).map(({ key }) => Number(new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(0)));
}

export function readMembers(view: ReadView): MemberInfo[] {
  return view.range(MEMBERS_BUCKET).map(({ value }) => {
    const m = JSON.parse(new TextDecoder().decode(value)) as MemberInfo;
    if (typeof m.id !== 'number' || !Array.isArray(m.peerUrls)) throw new Error('corrupt member record');
    return m;
  });
}
