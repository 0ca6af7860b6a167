/**
 * grpc-js unary handlers from async functions, with the proxy's error rule: an upstream
 * failure reaches the client exactly as the member sent it (code and etcd's text, which
 * clients match on); the proxy's own refusals are etcd's errors; bad arguments are
 * INVALID_ARGUMENT.
 */
import * as grpc from '@grpc/grpc-js';
import { EtcdError, unaryHandler } from '@kvfleet/core';

export function toStatus(e: unknown): Partial<grpc.StatusObject> {
  if (e instanceof EtcdError) return { code: e.code as number as grpc.status, details: e.message };
  if (isServiceError(e)) return { code: e.code, details: e.details, metadata: e.metadata };
  if (e instanceof RangeError || e instanceof TypeError) return { code: grpc.status.INVALID_ARGUMENT, details: e.message };
  return { code: grpc.status.UNKNOWN, details: e instanceof Error ? e.message : String(e) };
}

export function isServiceError(e: unknown): e is grpc.ServiceError {
  return e instanceof Error && typeof (e as Partial<grpc.ServiceError>).code === 'number' && 'details' in e;
}

export function unary<Req, Res>(
  fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return unaryHandler(fn, toStatus);
}
