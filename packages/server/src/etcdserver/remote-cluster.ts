/**
 * What a member joining an existing cluster (`--initial-cluster-state existing`) learns from
 * the members already running, as etcd does before it starts: the cluster id and the member
 * list, in which MemberAdd already put this member under an id chosen by the cluster. Asked
 * over the peer port, where members serve the Cluster service to each other.
 */
import { proto } from '@kvfleet/core';
import type { MemberEnv } from '../env/member-env.js';
import type { MemberInfo } from '../member/cluster-config.js';

/** What the asks use: the dialer to a peer's Cluster service, and the clock for deadlines. */
export type RemoteEnv = Pick<MemberEnv, 'clock' | 'dial'>;

export interface RemoteCluster {
  readonly clusterId: number;
  readonly members: MemberInfo[];
}

/**
 * Asks each of `peerUrls` in turn. The first answer that lists the member with `selfPeerUrls`
 * wins: a peer that has not applied this member's MemberAdd yet (it lags, or just restarted)
 * does not list it, and etcd, taking the first answer, fails to start on such a peer. With no
 * answer listing it, the first answer (the caller reports what is wrong with it). Throws when
 * none answers.
 */
export async function fetchRemoteCluster(env: RemoteEnv, peerUrls: readonly string[], selfPeerUrls: readonly string[], timeoutMs: number): Promise<RemoteCluster> {
  const errors: string[] = [];
  let first: RemoteCluster | undefined;
  for (const url of peerUrls) {
    try {
      const remote = await askMember(env, url, timeoutMs);
      if (findSelf(remote.members, selfPeerUrls) !== undefined) return remote;
      first ??= remote;
    } catch (e) {
      errors.push(`${url}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (first !== undefined) return first;
  throw new Error(`could not retrieve cluster information from the given URLs (${errors.join('; ')})`);
}

/** The member list as the member at `peerUrl` has applied it. */
export async function askMember(env: RemoteEnv, peerUrl: string, timeoutMs: number): Promise<RemoteCluster> {
  const client = env.dial('Cluster', peerUrl);
  try {
    const res = await proto.unaryCall(client.MemberList.bind(client), { linearizable: false }, undefined, {
      deadline: env.clock.now() + timeoutMs,
    });
    const members = (res.members ?? []).map((m) => ({
      id: proto.int64ToNumber(m.ID, 'ID'),
      name: m.name ?? '',
      peerUrls: [...(m.peerURLs ?? [])],
      clientUrls: [...(m.clientURLs ?? [])],
      isLearner: m.isLearner === true,
    }));
    return { clusterId: proto.int64ToNumber(res.header?.clusterId, 'cluster_id'), members };
  } finally {
    client.close();
  }
}

/**
 * This member's entry in the remote list, found by its peer URLs (etcd matches the URLs given
 * in `--initial-advertise-peer-urls` against the list). Undefined when it was not added.
 */
export function findSelf(members: readonly MemberInfo[], selfPeerUrls: readonly string[]): MemberInfo | undefined {
  const wanted = [...selfPeerUrls].sort().join(',');
  return members.find((m) => [...m.peerUrls].sort().join(',') === wanted);
}
