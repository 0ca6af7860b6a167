/**
 * Network faults between members: a TcpFaultProxy in front of every member's peer port (the
 * cluster advertises the proxy's URL, so every peer connection to member i passes through
 * proxy i). Member ids are derived from the advertised peer URLs, so one URL per member is all
 * a cluster can have; faults are therefore "what member i receives" (blackhole, delay, loss),
 * which is enough to depose a leader (it hears no acknowledgements), to cut a follower off, or to
 * make every link slow or lossy. Healing resets the connections so gRPC streams restart cleanly.
 */
import type { RandomSource } from '@kvfleet/core';
import type { Cluster } from '../../harness/cluster.js';
import { findLeader, localRevision, sleep, type MemberClients } from '../../harness/kv-checks.js';
import { arm, crashed } from './failpoint-faults.js';
import { TcpFaultProxy } from './tcp-fault-proxy.js';

export const NETWORK_FAULTS = [
  'blackhole-leader',
  'blackhole-follower',
  'delay-all-peers',
  'lossy-follower',
  'blackhole-follower-until-snapshot',
  // With failpoints: the snapshot the cut-off follower needs kills the sender or the receiver.
  'crash-sending-snapshot',
  'crash-applying-snapshot',
] as const;
export type NetworkFault = (typeof NETWORK_FAULTS)[number];

/** Network faults that also arm failpoints (their members need FAILPOINT_ENV). */
export function needsFailpoints(fault: string): boolean {
  return fault === 'crash-sending-snapshot' || fault === 'crash-applying-snapshot';
}

export function isNetworkFault(fault: string): fault is NetworkFault {
  return (NETWORK_FAULTS as readonly string[]).includes(fault);
}

/** Revisions to wait out in `blackhole-follower-until-snapshot`; scenarios using it run members with a smaller --snapshot-count. */
const SNAPSHOT_GAP_REVISIONS = 400;

export class PeerFronts {
  private readonly proxies = new Map<number, TcpFaultProxy>();
  private readonly all: TcpFaultProxy[] = [];

  constructor(private readonly rng: RandomSource) {}

  /** For ClusterOptions.peerFront: a proxy to the member's listen peer URL. */
  readonly front = async (index: number, listenPeerUrl: string): Promise<string> => {
    const url = new URL(listenPeerUrl);
    const proxy = await TcpFaultProxy.start({ target: { host: url.hostname, port: Number(url.port) }, rng: () => this.rng.float() });
    this.proxies.get(index)?.set({ kind: 'reset' });
    this.proxies.set(index, proxy);
    this.all.push(proxy);
    return `http://127.0.0.1:${proxy.port}`;
  };

  private proxy(i: number): TcpFaultProxy {
    const p = this.proxies.get(i);
    if (p === undefined) throw new Error(`no peer proxy for member ${i}`);
    return p;
  }

  heal(): void {
    for (const p of this.proxies.values()) {
      p.heal();
      p.set({ kind: 'reset' });
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((p) => p.close()));
  }

  /** Injects `fault` for a few seconds, heals, and waits for the members to serve again. */
  async inject(fault: NetworkFault, cluster: Cluster, members: readonly MemberClients[]): Promise<string> {
    const leader = await findLeader([...members], (i) => cluster.member(i).running);
    const followers = Array.from({ length: cluster.size }, (_, i) => i).filter((i) => i !== leader);
    const follower = followers[this.rng.int(followers.length)]!;
    const ms = 2_000 + this.rng.int(2_000);
    if (needsFailpoints(fault)) return this.snapshotCrash(fault, cluster, members, leader, follower);
    const description = await this.during(fault, leader, follower, ms, members);
    this.heal();
    await cluster.waitHealthy();
    return description;
  }

  /** Cuts a follower off until it needs a snapshot, with the sender's or receiver's snapshot failpoint set to crash. */
  private async snapshotCrash(fault: NetworkFault, cluster: Cluster, members: readonly MemberClients[], leader: number, follower: number): Promise<string> {
    const victim = fault === 'crash-sending-snapshot' ? leader : follower;
    const site = fault === 'crash-sending-snapshot' ? 'beforeSendSnapshot' : 'beforeApplySnapshot';
    await arm(cluster.member(victim).clientUrl, site, 'crash');
    const cut = await this.during('blackhole-follower-until-snapshot', leader, follower, 0, members);
    this.heal();
    const died = await crashed(cluster, victim, 10_000);
    if (died) await cluster.restart(victim);
    else await arm(cluster.member(victim).clientUrl, site, 'off');
    await cluster.waitHealthy();
    return `${cut}; ${died ? `member ${victim} crashed at ${site}, restarted` : `${site} not reached in 10 s`}`;
  }

  /** Sets `fault` up and waits it out (healing is the caller's). */
  private async during(fault: NetworkFault, leader: number, follower: number, ms: number, members: readonly MemberClients[]): Promise<string> {
    switch (fault) {
      case 'blackhole-leader':
        this.proxy(leader).set({ kind: 'blackhole' });
        await sleep(ms);
        return `leader ${leader} hears nothing from its peers for ${ms} ms`;
      case 'blackhole-follower':
        this.proxy(follower).set({ kind: 'blackhole' });
        await sleep(ms);
        return `follower ${follower} hears nothing from its peers for ${ms} ms`;
      case 'delay-all-peers': {
        const delay = 20 + this.rng.int(80);
        for (const p of this.proxies.values()) p.set({ kind: 'delay', ms: delay, jitterMs: delay / 2 });
        await sleep(ms);
        return `every peer link delayed ${delay} ms (±${delay / 2}) for ${ms} ms`;
      }
      case 'lossy-follower':
        this.proxy(follower).set({ kind: 'drop', probability: 0.05 });
        await sleep(ms);
        return `follower ${follower}'s peer connections drop 5% of chunks for ${ms} ms`;
      case 'blackhole-follower-until-snapshot': {
        // Long enough for the leader to compact its log past the follower: it must send a snapshot.
        this.proxy(follower).set({ kind: 'blackhole' });
        const from = await localRevision(members[leader]!.kv);
        const until = Date.now() + 20_000;
        let now = from;
        while (now < from + SNAPSHOT_GAP_REVISIONS && Date.now() < until) {
          await sleep(250);
          now = await localRevision(members[leader]!.kv).catch(() => now);
        }
        return `follower ${follower} hears nothing while the cluster moves ${now - from} revisions on (snapshot catch-up)`;
      }
      case 'crash-sending-snapshot':
      case 'crash-applying-snapshot':
        throw new Error(`${fault} is injected by snapshotCrash`);
    }
  }

}
