/** Waiting for an applied result with etcd's request timeout. */
import { EtcdError, ETCD_ERRORS } from '@kvfleet/core';
import { type Clock, withTimeout } from '../env/clock.js';

/**
 * Resolves or rejects as `done` does, unless `ms` pass first on `clock`: then `onTimeout` runs
 * (to forget the waiter) and the promise rejects with etcd's "request timed out". The request
 * may still be applied later, as in etcd.
 */
export function withRequestTimeout<T>(clock: Clock, done: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  return withTimeout(clock, done, ms, () => {
    onTimeout();
    return new EtcdError(ETCD_ERRORS.ErrGRPCTimeout);
  });
}
