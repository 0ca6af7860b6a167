/**
 * The gRPC status a failed lock or election call answers with. etcd serves these services
 * through its own Go client, which turns every etcd error it knows by text into a plain error;
 * the service then returns that, so the caller sees code UNKNOWN with etcd's text (e.g. Lock
 * with a missing lease: UNKNOWN "etcdserver: requested lease not found", measured on 3.4).
 * Errors the client does not know keep their code.
 */
import type * as grpc from '@grpc/grpc-js';
import { GrpcCode, lookupEtcdError } from '@kvfleet/core';
import { toServiceError } from './grpc-errors.js';

export function concurrencyServiceError(e: unknown): Partial<grpc.StatusObject> {
  const status = toServiceError(e);
  if (status.details !== undefined && lookupEtcdError(status.details)?.clientMapped === true) {
    return { code: GrpcCode.UNKNOWN as number as grpc.status, details: status.details };
  }
  return status;
}
