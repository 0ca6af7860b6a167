/**
 * Faults on whole processes: SIGKILL and restart of a member (the leader or a follower) or a
 * proxy, SIGSTOP/SIGCONT pauses, and a torn WAL tail on a killed follower before its restart.
 * Each returns once the fault is over and the process serves again.
 */
import type { RandomSource } from '@kvfleet/core';
import type { Cluster } from '../../harness/cluster.js';
import { findLeader, sleep, tearWalTail, type MemberClients } from '../../harness/kv-checks.js';
import type { ProxyFleet } from '../../harness/proxy.js';

export const PROCESS_FAULTS = ['kill-leader', 'kill-follower', 'pause-leader', 'pause-follower', 'kill-proxy', 'pause-proxy', 'torn-wal-follower'] as const;
export type ProcessFault = (typeof PROCESS_FAULTS)[number];

export interface FaultTargets {
  readonly cluster: Cluster;
  readonly proxies: ProxyFleet | undefined;
  readonly members: readonly MemberClients[];
  readonly rng: RandomSource;
}

async function pickMember(t: FaultTargets, leader: boolean): Promise<number> {
  const l = await findLeader([...t.members], (i) => t.cluster.member(i).running);
  if (leader) return l;
  const followers = Array.from({ length: t.cluster.size }, (_, i) => i).filter((i) => i !== l);
  return followers[t.rng.int(followers.length)]!;
}

function signal(pid: number | undefined, sig: 'SIGSTOP' | 'SIGCONT'): void {
  if (pid !== undefined) process.kill(pid, sig);
}

/** Injects `fault` once and recovers from it; returns a one-line description. */
export async function injectProcessFault(fault: ProcessFault, t: FaultTargets): Promise<string> {
  switch (fault) {
    case 'kill-leader':
    case 'kill-follower': {
      const i = await pickMember(t, fault === 'kill-leader');
      await t.cluster.member(i).kill('SIGKILL');
      await sleep(500 + t.rng.int(1_500));
      await t.cluster.restart(i);
      return `SIGKILL member ${i}${fault === 'kill-leader' ? ' (leader)' : ''}, restarted`;
    }
    case 'pause-leader':
    case 'pause-follower': {
      const i = await pickMember(t, fault === 'pause-leader');
      const pid = t.cluster.member(i).pid;
      const ms = 1_000 + t.rng.int(3_000);
      signal(pid, 'SIGSTOP');
      await sleep(ms);
      signal(pid, 'SIGCONT');
      await t.cluster.waitHealthy(i);
      return `SIGSTOP member ${i}${fault === 'pause-leader' ? ' (leader)' : ''} for ${ms} ms`;
    }
    case 'kill-proxy':
    case 'pause-proxy': {
      if (t.proxies === undefined || t.proxies.size === 0) return 'no proxy to fault';
      const i = t.rng.int(t.proxies.size);
      const p = t.proxies.proxy(i);
      if (fault === 'kill-proxy') {
        await p.kill('SIGKILL');
        await sleep(300 + t.rng.int(1_000));
        await p.restart();
        return `SIGKILL proxy ${i}, restarted`;
      }
      const ms = 1_000 + t.rng.int(2_000);
      signal(p.pid, 'SIGSTOP');
      await sleep(ms);
      signal(p.pid, 'SIGCONT');
      await p.waitReady();
      return `SIGSTOP proxy ${i} for ${ms} ms`;
    }
    case 'torn-wal-follower': {
      if (t.cluster.kind !== 'kvfleet') return 'torn WAL tails need kvfleet members';
      const i = await pickMember(t, false);
      await t.cluster.member(i).kill('SIGKILL');
      const torn = await tearWalTail(t.cluster.member(i).dataDir, t.rng, t.rng.chance(0.5) ? 'partial-next-record' : 'zero-fill');
      await t.cluster.restart(i);
      return `SIGKILL follower ${i}, WAL tail torn (${torn?.mode ?? 'nothing to tear'}), restarted`;
    }
  }
}
