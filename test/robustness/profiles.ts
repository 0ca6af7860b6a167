/**
 * The scenarios each profile runs. `ci` is bounded (a few minutes in `.ci/run`); `long` cycles
 * through every scenario with longer runs and fresh seeds until its duration is spent. The
 * `bugs` scenarios switch a known-bad behaviour on; the checkers must report them.
 */
import type { Scenario } from './scenario.js';

const base = { clients: 8, ratePerSec: 150, proxies: 2, watchers: 8 } as const;
/** Small snapshots, so a member that falls behind catches up from one. */
const smallSnapshots = ['--snapshot-count', '200', '--experimental-snapshot-catchup-entries', '50'];

export const CI_SCENARIOS: readonly Scenario[] = [
  { ...base, name: 'etcd-kill-leader', mix: 'etcd', faults: ['kill-leader'], durationMs: 15_000 },
  { ...base, name: 'kubernetes-pause-follower-kill-proxy', mix: 'kubernetes', faults: ['pause-follower', 'kill-proxy'], durationMs: 15_000 },
  { ...base, name: 'etcd-pause-leader-torn-wal', mix: 'etcd', faults: ['pause-leader', 'torn-wal-follower'], durationMs: 15_000 },
  { ...base, name: 'kubernetes-pause-proxy-kill-follower', mix: 'kubernetes', faults: ['pause-proxy', 'kill-follower'], durationMs: 15_000 },
  { ...base, name: 'etcd-blackhole-leader-lossy-follower', mix: 'etcd', faults: ['blackhole-leader', 'lossy-follower'], durationMs: 15_000 },
  { ...base, name: 'kubernetes-replace-leader', mix: 'kubernetes', faults: ['replace-leader'], durationMs: 15_000, memberArgs: smallSnapshots },
  { ...base, name: 'etcd-remove-leader-restart-all', mix: 'etcd', faults: ['remove-leader-restart-all'], durationMs: 15_000 },
  { ...base, name: 'kubernetes-two-voters-remove-leader-restart-all', mix: 'kubernetes', faults: ['two-voters-remove-leader-restart-all'], durationMs: 15_000 },
  { ...base, name: 'etcd-crash-in-write-path-slow-wal', mix: 'etcd', faults: ['crash-in-write-path', 'slow-wal', 'crash-in-write-path'], durationMs: 15_000, compactEveryMs: 1_500 },
];

/** Needs a tmpfs mount (root): run apart so it can be skipped elsewhere. */
export const DISK_SCENARIO: Scenario = { ...base, name: 'etcd-disk-full', mix: 'etcd', faults: ['disk-full'], durationMs: 15_000 };

export const BUG_SCENARIOS = {
  staleLinearizableRead: {
    ...base,
    name: 'bug-proxy-stale-linearizable-read',
    mix: 'etcd',
    faults: [],
    durationMs: 8_000,
    through: 'proxies',
    proxyFailpoints: 'proxyStaleLinearizableRead,proxyFeedDelayMs=300',
  },
  leaderAcksThenCrashes: {
    ...base,
    name: 'bug-member-acks-put-then-crashes',
    mix: 'etcd',
    faults: ['bug-leader-acks-put-then-crashes'],
    durationMs: 8_000,
  },
  watchSkipsEvent: {
    ...base,
    name: 'bug-proxy-watch-skips-event',
    mix: 'kubernetes',
    faults: [],
    durationMs: 8_000,
    through: 'proxies',
    proxyFailpoints: 'proxyWatchSkipEvent=20',
  },
} as const satisfies Record<string, Scenario>;

/** Longer runs of every fault, alone and in pairs, for the `long` profile. */
export const LONG_SCENARIOS: readonly Scenario[] = [
  ...CI_SCENARIOS.map((s) => ({ ...s, name: `${s.name}-long`, durationMs: 60_000, clients: 12, ratePerSec: 200, watchers: 16 })),
  { ...base, name: 'etcd-kill-follower-pause-proxy', mix: 'etcd', faults: ['kill-follower', 'pause-proxy', 'kill-leader'], durationMs: 60_000 },
  { ...base, name: 'kubernetes-kill-leader-twice', mix: 'kubernetes', faults: ['kill-leader', 'kill-leader'], durationMs: 60_000 },
  { ...base, name: 'etcd-torn-wal-kill-proxy', mix: 'etcd', faults: ['torn-wal-follower', 'kill-proxy', 'pause-follower'], durationMs: 60_000 },
  { ...base, name: 'kubernetes-delay-peers-blackhole-follower', mix: 'kubernetes', faults: ['delay-all-peers', 'blackhole-follower', 'blackhole-leader'], durationMs: 60_000 },
  { ...base, name: 'kubernetes-crash-in-write-path-thrice', mix: 'kubernetes', faults: ['crash-in-write-path', 'crash-in-write-path', 'slow-wal', 'crash-in-write-path'], durationMs: 60_000, compactEveryMs: 2_000 },
  { ...base, name: 'etcd-replace-follower-then-leader', mix: 'etcd', faults: ['replace-follower', 'replace-leader'], durationMs: 60_000, memberArgs: smallSnapshots },
  { ...base, name: 'etcd-follower-needs-snapshot', mix: 'etcd', faults: ['blackhole-follower-until-snapshot', 'kill-leader', 'blackhole-follower-until-snapshot'], durationMs: 60_000, ratePerSec: 250, memberArgs: smallSnapshots },
  { ...base, name: 'etcd-snapshot-crashes', mix: 'etcd', faults: ['crash-applying-snapshot', 'crash-sending-snapshot'], durationMs: 60_000, ratePerSec: 250, memberArgs: smallSnapshots },
  { ...base, name: 'kubernetes-crash-applying-conf-change', mix: 'kubernetes', faults: ['crash-applying-conf-change', 'kill-leader'], durationMs: 60_000, memberArgs: smallSnapshots },
  { ...base, name: 'etcd-disk-full-twice', mix: 'etcd', faults: ['disk-full', 'kill-leader', 'disk-full'], durationMs: 60_000 },
  { ...base, name: 'kubernetes-members-only-kill-leader', mix: 'kubernetes', faults: ['kill-leader', 'pause-leader'], durationMs: 60_000, proxies: 0 },
];

export function scenarioNamed(name: string): Scenario | undefined {
  return [...CI_SCENARIOS, DISK_SCENARIO, ...LONG_SCENARIOS, ...Object.values(BUG_SCENARIOS)].find((s) => s.name === name);
}
