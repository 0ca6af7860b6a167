/**
 * gRPC status → HTTP status and error bodies, as the grpc-gateway in etcd 3.4 (v1.9) writes
 * them. Note FAILED_PRECONDITION → 412 there (later grpc-gateway versions, as in etcd 3.5, use 400).
 * Pure.
 */
import { STATUS_CODES } from 'node:http';
import { status } from '@grpc/grpc-js';
import { goStringify } from './go-json.js';

const HTTP_BY_CODE: Readonly<Record<number, number>> = {
  [status.OK]: 200,
  [status.CANCELLED]: 408,
  [status.UNKNOWN]: 500,
  [status.INVALID_ARGUMENT]: 400,
  [status.DEADLINE_EXCEEDED]: 504,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.PERMISSION_DENIED]: 403,
  [status.UNAUTHENTICATED]: 401,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.FAILED_PRECONDITION]: 412,
  [status.ABORTED]: 409,
  [status.OUT_OF_RANGE]: 400,
  [status.UNIMPLEMENTED]: 501,
  [status.INTERNAL]: 500,
  [status.UNAVAILABLE]: 503,
  [status.DATA_LOSS]: 500,
};

export function httpStatusFromCode(code: number): number {
  return HTTP_BY_CODE[code] ?? 500;
}

/** The body of a failed unary call: `{"error": msg, "message": msg, "code": grpcCode}`. */
export function errorBody(code: number, message: string): string {
  return goStringify({ error: message, message, code });
}

/** A failure in the middle of a stream: one `{"error": {...}}` chunk. */
export function streamErrorChunk(code: number, message: string): string {
  const httpCode = httpStatusFromCode(code);
  return goStringify({
    error: { grpc_code: code, http_code: httpCode, message, http_status: STATUS_CODES[httpCode] ?? '' },
  });
}
