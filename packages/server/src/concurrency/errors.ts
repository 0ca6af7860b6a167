/**
 * The errors of etcd's concurrency recipes and of its v3election service. etcd raises them as
 * plain Go errors, so they reach gRPC callers with code UNKNOWN and exactly this text.
 */
import { GrpcCode, type EtcdErrorEntry } from '@kvfleet/core';

function plainGoError<N extends string>(name: N, message: string): EtcdErrorEntry & { readonly name: N } {
  return Object.freeze({ name, message, code: GrpcCode.UNKNOWN, codeName: 'UNKNOWN', clientMapped: false });
}

export const CONCURRENCY_ERRORS = {
  /** concurrency.ErrElectionNotLeader: Proclaim by a key that is no longer the leader's. */
  ErrElectionNotLeader: plainGoError('ErrElectionNotLeader', 'election: not leader'),
  /** concurrency.ErrElectionNoLeader: Leader of an election nobody campaigns in. */
  ErrElectionNoLeader: plainGoError('ErrElectionNoLeader', 'election: no leader'),
  /** v3election.ErrMissingLeaderKey: Proclaim or Resign without a leader key. */
  ErrMissingLeaderKey: plainGoError('ErrMissingLeaderKey', '"leader" field must be provided'),
  /** concurrency.ErrSessionExpired (etcd 3.5): the waiter's own key vanished while it waited. */
  ErrSessionExpired: plainGoError('ErrSessionExpired', 'mutex: session is expired'),
} as const;
