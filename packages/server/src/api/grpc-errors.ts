/**
 * One table from internal errors to what a client sees: etcd's status code and exact message
 * (clients match on the text), so every handler answers failures identically.
 */
import * as grpc from '@grpc/grpc-js';
import { EtcdError, ETCD_ERRORS, GrpcCode, unaryHandler } from '@kvfleet/core';
import { MvccError } from '../mvcc/errors.js';
import { isLeaseError } from '../lease/errors.js';

export function toServiceError(e: unknown): Partial<grpc.StatusObject> {
  const etcd = toEtcdError(e);
  if (etcd !== undefined) return { code: etcd.code as number as grpc.status, details: etcd.message };
  if (
    e instanceof RangeError ||
    e instanceof TypeError ||
    isLeaseError(e, 'ErrLeaseInvalidArgument') ||
    (e instanceof MvccError && e.code === 'ErrMvccInvalidArgument')
  ) {
    return { code: grpc.status.INVALID_ARGUMENT, details: e.message };
  }
  return { code: grpc.status.UNKNOWN, details: e instanceof Error ? e.message : String(e) };
}

function toEtcdError(e: unknown): EtcdError | undefined {
  if (e instanceof EtcdError) return e;
  if (e instanceof MvccError) {
    if (e.code === 'ErrCompacted') return new EtcdError(ETCD_ERRORS.ErrGRPCCompacted);
    if (e.code === 'ErrFutureRev') return new EtcdError(ETCD_ERRORS.ErrGRPCFutureRev);
  }
  // The leader's lessor takes over once the leader has applied its first entry; until then
  // (or after losing leadership) leader-only lease calls are refused like etcd's non-leaders.
  if (isLeaseError(e, 'ErrLeaseNotPrimary')) return new EtcdError(ETCD_ERRORS.ErrGRPCNotLeader);
  return undefined;
}

/** Whether `e` reached a client as etcd's UNAVAILABLE: a retry elsewhere may succeed. */
export function isUnavailable(e: unknown): boolean {
  return toEtcdError(e)?.code === GrpcCode.UNAVAILABLE;
}

/** Adapts an async unary handler to grpc-js's callback style, mapping failures. */
export function unary<Req, Res>(
  fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return unaryHandler(fn, toServiceError);
}
