import { SeededRandom, type RandomSource } from '@kvfleet/core';
import type { NetworkFaults } from './network.js';

/** Everything one run does, drawn from its seed (swarm testing: each run a different mix). */
export interface SimParams {
  seed: number;
  clusterSize: number;
  preVote: boolean;
  checkQuorum: boolean;
  electionTick: number;
  heartbeatTick: number;
  tickMs: number;
  network: NetworkFaults;
  diskMaxDelayMs: number;
  /** Ticks of the fault phase; the liveness phase follows. */
  chaosTicks: number;
  /**
   * Ticks the healed cluster has to elect a leader and commit on every member, before adding
   * the time flow control needs to move the backlog left at healing (see Simulation).
   */
  livenessTicksMax: number;
  /** Per 100 ms of the fault phase. */
  crashRate: number;
  /** Per 100 ms: crash whoever leads now (leader churn with divergent logs, as in Figure 8). */
  leaderCrashRate: number;
  partitionRate: number;
  membershipRate: number;
  transferRate: number;
  networkChangeRate: number;
  /** Client operations per 10 ms. */
  proposeRate: number;
  readRate: number;
  /** Applied entries between snapshots, and entries kept after compaction for slow followers. */
  snapshotEvery: number;
  catchUpEntries: number;
  maxMembers: number;
  /** Flow control: bytes per append (1 → one entry each) and appends in flight per follower. */
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  /** Bytes of proposals a leader holds uncommitted before dropping new ones. */
  maxUncommittedBytes: number;
}

export const SIM_PROFILES = ['swarm', 'stormy', 'churn'] as const;
export type SimProfile = (typeof SIM_PROFILES)[number];

export interface SimOverrides {
  clusterSize?: number;
  chaosTicks?: number;
  /**
   * 'stormy': constant leader churn with one-entry appends, where commit-rule bugs surface.
   * 'churn': membership changes, leader transfers and crashes turned up, on small clusters
   * (two voters included), where removal and hand-over bugs surface.
   */
  profile?: SimProfile;
}

/** Fault rates per run; the zero entries give calm runs, which find liveness bugs. */
const DROP_RATES = [0, 0, 0.01, 0.05, 0.15];
const DUP_RATES = [0, 0.01, 0.05];
const DELAYS: [number, number][] = [[1, 2], [1, 10], [2, 30], [5, 80]];

export function paramsForSeed(seed: number, overrides: SimOverrides = {}): SimParams {
  const params = swarmParams(seed, overrides);
  if (overrides.profile === 'churn') return churnParams(seed, params, overrides);
  if (overrides.profile !== 'stormy') return params;
  return {
    ...params,
    clusterSize: overrides.clusterSize ?? 5,
    network: { dropRate: 0.1, duplicateRate: 0.02, minDelayMs: 1, maxDelayMs: 30 },
    diskMaxDelayMs: 8,
    crashRate: 0.1,
    leaderCrashRate: 0.5,
    partitionRate: 0.2,
    membershipRate: 0,
    proposeRate: 1,
    maxSizePerMsg: 1,
    maxInflightMsgs: 1,
  };
}

function swarmParams(seed: number, overrides: SimOverrides): SimParams {
  const r: RandomSource = new SeededRandom(seed);
  const [minDelayMs, maxDelayMs] = r.pick(DELAYS);
  return {
    seed,
    clusterSize: overrides.clusterSize ?? r.pick([1, 3, 3, 3, 5, 5, 7]),
    preVote: r.chance(0.75),
    checkQuorum: r.chance(0.75),
    electionTick: 10,
    heartbeatTick: 1,
    tickMs: 10,
    network: { dropRate: r.pick(DROP_RATES), duplicateRate: r.pick(DUP_RATES), minDelayMs, maxDelayMs },
    diskMaxDelayMs: r.pick([0, 2, 8]),
    chaosTicks: overrides.chaosTicks ?? 1500 + r.int(1500),
    livenessTicksMax: 600,
    crashRate: r.pick([0, 0.02, 0.05, 0.15]),
    leaderCrashRate: r.pick([0, 0, 0.02, 0.1]),
    partitionRate: r.pick([0, 0.02, 0.08]),
    membershipRate: r.pick([0, 0, 0.03, 0.1]),
    transferRate: r.pick([0, 0.02, 0.08]),
    networkChangeRate: r.pick([0, 0.02]),
    proposeRate: r.pick([0.1, 0.5, 1]),
    readRate: r.pick([0, 0.1, 0.3]),
    snapshotEvery: r.pick([10, 40, 200]),
    catchUpEntries: r.pick([0, 5, 50]),
    maxMembers: 9,
    maxSizePerMsg: r.pick([1, 64, 4096]),
    maxInflightMsgs: r.pick([1, 4, 64]),
    maxUncommittedBytes: r.pick([256, 4096]),
  };
}

/** The swarm mix with the membership, transfer and crash rates turned up (its own draws). */
function churnParams(seed: number, params: SimParams, overrides: SimOverrides): SimParams {
  const r: RandomSource = new SeededRandom(seed ^ 0xc4021);
  return {
    ...params,
    clusterSize: overrides.clusterSize ?? r.pick([1, 1, 2, 2, 3, 3, 5]),
    crashRate: r.pick([0.05, 0.15, 0.3]),
    leaderCrashRate: r.pick([0.02, 0.1, 0.2]),
    membershipRate: r.pick([0.1, 0.3, 0.5]),
    transferRate: r.pick([0.05, 0.1, 0.2]),
    maxMembers: r.pick([3, 5, 9]),
  };
}
