/**
 * A lock or election call's lifetime as an AbortSignal, aborted when the client goes away
 * (cancel, deadline, lost connection) or the member's client server shuts down: waits stop and
 * release their watches instead of outliving the call.
 */
import type * as grpc from '@grpc/grpc-js';
import { EtcdError, ETCD_ERRORS, GrpcCode } from '@kvfleet/core';
import { concurrencyServiceError } from './concurrency-status.js';

/** What every grpc-js server call offers (its ServerSurfaceCall type is not exported). */
export interface CancellableCall {
  readonly cancelled: boolean;
  on(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

export interface CallScope {
  readonly signal: AbortSignal;
  /** The status to answer a failure with. */
  statusOf(error: unknown): Partial<grpc.StatusObject>;
  /** The call is over: stop listening. */
  end(): void;
}

/**
 * `openCalls` is the client server's set of closers run on shutdown; a call in it is ended
 * with etcd's "server stopped" (UNAVAILABLE), so its client moves to another member.
 */
export function openCallScope(call: CancellableCall, openCalls: Set<() => void>): CallScope {
  const controller = new AbortController();
  const stopped = new EtcdError(ETCD_ERRORS.ErrGRPCStopped);
  const stop = (): void => controller.abort(stopped);
  const cancel = (): void => controller.abort(new EtcdError(ETCD_ERRORS.ErrGRPCCanceled));
  openCalls.add(stop);
  call.on('cancelled', cancel);
  if (call.cancelled) cancel();
  return {
    signal: controller.signal,
    statusOf: (error) =>
      controller.signal.reason === stopped
        ? { code: GrpcCode.UNAVAILABLE as number as grpc.status, details: stopped.message }
        : concurrencyServiceError(error),
    end: () => {
      openCalls.delete(stop);
      call.removeListener('cancelled', cancel);
    },
  };
}

/** A unary handler whose work gets the call's signal. */
export function scopedUnary<Req, Res>(
  openCalls: Set<() => void>,
  fn: (request: Req, signal: AbortSignal) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const scope = openCallScope(call, openCalls);
    fn(call.request, scope.signal).then(
      (res) => {
        scope.end();
        callback(null, res);
      },
      (e: unknown) => {
        scope.end();
        callback(scope.statusOf(e) as grpc.ServiceError);
      },
    );
  };
}
