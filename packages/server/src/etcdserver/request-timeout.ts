/** Waiting for an applied result with etcd's request timeout. */
import { EtcdError, ETCD_ERRORS } from '@kvfleet/core';

/**
 * Resolves or rejects as `done` does, unless `ms` pass first: then `onTimeout` runs (to forget
 * the waiter) and the promise rejects with etcd's "request timed out". The request may still
 * be applied later, as in etcd.
 */
export function withRequestTimeout<T>(done: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new EtcdError(ETCD_ERRORS.ErrGRPCTimeout));
    }, ms);
    done.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
