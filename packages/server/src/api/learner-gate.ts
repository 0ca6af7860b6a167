/**
 * etcd's rule for learners: a learner has no vote and may lag, so it serves only serializable
 * Range and Maintenance.Status; every other call, streams included, is refused with
 * ErrGRPCNotSupportedForLearner ("etcdserver: rpc not supported for learner") so clients move
 * to another endpoint. Applied as a wrapper around a service's handlers, checked per call
 * (a learner that is promoted serves everything from then on).
 */
import * as grpc from '@grpc/grpc-js';
import { EtcdError, ETCD_ERRORS } from '@kvfleet/core';

type AnyHandler = (call: { request?: unknown }, callback?: (e: unknown, v?: unknown) => void) => void;

/** Whether a learner serves `path` (e.g. `/etcdserverpb.KV/Range`) for `request`. */
export function isSupportedForLearner(path: string, request: unknown): boolean {
  if (path === '/etcdserverpb.Maintenance/Status') return true;
  if (path === '/etcdserverpb.KV/Range') return (request as { serializable?: boolean } | undefined)?.serializable === true;
  return false;
}

/** Wraps every handler of `impl` (served under `definition`) with the learner check. */
export function learnerGate<T extends object>(definition: grpc.ServiceDefinition, impl: T, isLearner: () => boolean): T {
  const gated: Record<string, AnyHandler> = {};
  for (const [name, handler] of Object.entries(impl as Record<string, AnyHandler>)) {
    const method = definition[name];
    if (method === undefined || typeof handler !== 'function') {
      gated[name] = handler;
      continue;
    }
    const streamsIn = method.requestStream;
    gated[name] = (call, callback) => {
      // A request that streams in has no request to look at yet: etcd refuses every stream.
      if (isLearner() && (streamsIn || !isSupportedForLearner(method.path, call.request))) {
        const e = new EtcdError(ETCD_ERRORS.ErrGRPCNotSupportedForLearner);
        const status = { code: e.code as number as grpc.status, details: e.message, metadata: new grpc.Metadata() };
        if (callback !== undefined) callback(status);
        else (call as unknown as NodeJS.EventEmitter).emit('error', status);
        return;
      }
      handler(call, callback);
    };
  }
  return gated as unknown as T;
}
