/**
 * Maintenance.MoveLeader as etcd serves it: only the leader accepts it (ErrGRPCNotLeader), the
 * target must be a voting member (ErrGRPCBadLeaderTransferee), then Raft's leader transfer
 * runs and the call waits, checking every heartbeat, until the target leads or the deadline
 * passes (etcd's ErrTimeoutLeaderTransfer).
 */
import { EtcdError, ETCD_ERRORS, GrpcCode } from '@kvfleet/core';
import { type Clock, sleep } from '../env/clock.js';
import type { Logger } from '../logger.js';

/** What a leader move needs from the member. */
export interface LeaderMover {
  readonly isLeader: boolean;
  readonly leaderId: number;
  readonly config: { readonly logger: Logger; readonly heartbeatIntervalMs: number };
  memberList(): readonly { readonly id: number; readonly isLearner: boolean }[];
  transferLeadership(transferee: number): void;
  readonly env: { readonly clock: Clock };
}

/** etcd's v3rpc ErrGRPCTimeoutLeaderTransfer (not in the shared catalogue yet). */
export const ERR_TIMEOUT_LEADER_TRANSFER = Object.freeze({
  name: 'ErrGRPCTimeoutLeaderTransfer',
  message: 'etcdserver: request timed out, leader transfer took too long',
  code: GrpcCode.UNAVAILABLE,
  codeName: 'UNAVAILABLE' as const,
  clientMapped: true,
});

export async function moveLeader(server: LeaderMover, target: number, deadline: number): Promise<void> {
  if (!server.isLeader) throw new EtcdError(ETCD_ERRORS.ErrGRPCNotLeader);
  const member = server.memberList().find((m) => m.id === target);
  if (member === undefined || member.isLearner) throw new EtcdError(ETCD_ERRORS.ErrGRPCBadLeaderTransferee);
  server.config.logger.info('leadership transfer starting', { to: target.toString(16) });
  server.transferLeadership(target);
  const interval = server.config.heartbeatIntervalMs;
  while (server.leaderId !== target) {
    if (server.env.clock.now() + interval > deadline) throw new EtcdError(ERR_TIMEOUT_LEADER_TRANSFER);
    await sleep(server.env.clock, interval);
  }
  server.config.logger.info('leadership transfer finished', { to: target.toString(16) });
}
