/**
 * Whole services forwarded to the members byte for byte: requests and responses are not
 * decoded, so the proxy adds no encoding cost and passes every field (and every error's code
 * and etcd text) through unchanged. Metadata (auth tokens) goes along.
 */
import * as grpc from '@grpc/grpc-js';
import { proto } from '@kvfleet/core';
import type { Upstream } from '../upstream/upstream.js';

const identity = (b: Buffer): Buffer => b;

/** `name`'s definition with every message kept as raw bytes. */
export function rawDefinition(name: proto.ServiceName): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  for (const [method, def] of Object.entries(proto.serviceDefinition(name) as grpc.ServiceDefinition)) {
    out[method] = { ...def, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
  }
  return out as grpc.ServiceDefinition;
}

/** Handlers forwarding every method of `name` (except those in `except`) to the current upstream endpoint. */
export function forwardService(name: proto.ServiceName, upstream: Upstream, except: readonly string[] = []): grpc.UntypedServiceImplementation {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const [method, def] of Object.entries(rawDefinition(name))) {
    if (except.includes(method)) continue;
    const channel = () => upstream.client(name) as grpc.Client;
    if (!def.requestStream && !def.responseStream) {
      handlers[method] = ((call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const endpoint = upstream.endpoint;
        channel().makeUnaryRequest(def.path, identity, identity, call.request, call.metadata, {}, (err, res) => {
          if (err?.code === grpc.status.UNAVAILABLE && !(err.details ?? '').startsWith('etcdserver:')) upstream.rotate(endpoint);
          callback(err, res);
        });
      }) as grpc.handleUnaryCall<Buffer, Buffer>;
    } else if (!def.requestStream) {
      handlers[method] = ((call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        const up = channel().makeServerStreamRequest(def.path, identity, identity, call.request, call.metadata, {});
        pipeResponses(up, call);
        call.on('cancelled', () => up.cancel());
      }) as grpc.handleServerStreamingCall<Buffer, Buffer>;
    } else {
      handlers[method] = ((call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        const up = channel().makeBidiStreamRequest(def.path, identity, identity, call.metadata, {});
        pipeResponses(up, call);
        // Backpressure both ways: a slow side pauses the other instead of buffering without bound.
        call.on('data', (b: Buffer) => {
          if (!up.write(b)) call.pause();
        });
        up.on('drain', () => call.resume());
        call.on('end', () => up.end());
        call.on('cancelled', () => up.cancel());
        call.on('error', () => up.cancel());
      }) as grpc.handleBidiStreamingCall<Buffer, Buffer>;
    }
  }
  return handlers;
}

function pipeResponses(up: grpc.ClientReadableStream<Buffer>, call: grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>): void {
  up.on('data', (b: Buffer) => {
    if (!call.write(b)) {
      up.pause();
      call.once('drain', () => up.resume());
    }
  });
  up.on('error', (e: grpc.ServiceError) => {
    if (e.code === grpc.status.CANCELLED) return;
    call.emit('error', { code: e.code, details: e.details, metadata: e.metadata });
  });
  up.on('end', () => call.end());
}
