/**
 * Member and cluster ids, derived as etcd derives them: a member's id from its peer URLs and
 * the cluster token, the cluster id from its founding members' ids. Every founding member
 * computes the same ids from the same `--initial-cluster`, with no coordination.
 *
 * etcd uses all 64 bits of a SHA-1; kvfleet keeps 53 so ids stay exact JavaScript numbers
 * (the wire type is still uint64, so clients see an ordinary id).
 */
import { createHash } from 'node:crypto';

const ID_BITS_MASK_HIGH = 0x1fffff; // the top 21 of 53 bits

function hashToId(parts: readonly string[]): number {
  const digest = createHash('sha1').update(parts.join('')).digest();
  const high = digest.readUInt32BE(0) & ID_BITS_MASK_HIGH;
  const low = digest.readUInt32BE(4);
  const id = high * 2 ** 32 + low;
  // 0 means "none" in Raft; a zero hash is astronomically unlikely but must not become an id.
  return id === 0 ? 1 : id;
}

/**
 * The id of the member advertising `peerUrls` in the cluster named by `token`. A member added
 * later (MemberAdd) also hashes the time in whole seconds, as etcd does, so a member removed
 * and added again with the same URLs gets a new id.
 */
export function memberIdFor(peerUrls: readonly string[], token: string, nowSeconds?: number): number {
  const parts = [...[...peerUrls].sort(), token];
  if (nowSeconds !== undefined) parts.push(String(Math.floor(nowSeconds)));
  return hashToId(parts);
}

/** The id of the cluster founded by `memberIds`. */
export function clusterIdFor(memberIds: readonly number[]): number {
  return hashToId([...memberIds].sort((a, b) => a - b).map((id) => id.toString(16).padStart(16, '0')));
}

/** etcd prints ids as 16 hex digits; so do logs, errors and the data dir's metadata. */
export function formatId(id: number): string {
  return id.toString(16);
}
