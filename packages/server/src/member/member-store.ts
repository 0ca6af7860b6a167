/**
 * The cluster's member list, kept in the backend (bucket `members`) so it travels with
 * snapshots and survives restarts: a restarting member or one restored from a leader's
 * snapshot learns its peers from here, not from flags.
 */
import type { ReadView } from '../backend/backend.js';
import type { KvWriteTxn } from '../mvcc/kv-write-txn.js';
import type { MemberInfo } from './cluster-config.js';

export const MEMBERS_BUCKET = 'members';

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

export function removeMember(txn: KvWriteTxn, id: number): void {
  txn.deleteAux(MEMBERS_BUCKET, memberKey(id));
}

export function readMembers(view: ReadView): MemberInfo[] {
  return view.range(MEMBERS_BUCKET).map(({ value }) => {
    const m = JSON.parse(new TextDecoder().decode(value)) as MemberInfo;
    if (typeof m.id !== 'number' || !Array.isArray(m.peerUrls)) throw new Error('corrupt member record');
    return m;
  });
}
