// gRPC clients for the etcd services, for our own tests and for the proxy's calls
// to members. Built with grpc-js's generic constructor from the same
// ServiceDefinitions the servers use, then given types derived from the method maps.
import * as grpc from '@grpc/grpc-js';
import type { Decoded, Init } from './message-shapes.js';
import {
  serviceDefinition,
  SERVICES,
  type Bidi,
  type ServerStream,
  type ServiceMethods,
  type ServiceName,
  type Unary,
} from './service-definitions.js';

/** A unary client method with grpc-js's usual overloads. */
export interface UnaryClientMethod<Req, Res> {
  (request: Init<Req>, callback: grpc.requestCallback<Decoded<Res>>): grpc.ClientUnaryCall;
  (request: Init<Req>, metadata: grpc.Metadata, callback: grpc.requestCallback<Decoded<Res>>): grpc.ClientUnaryCall;
  (
    request: Init<Req>,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: grpc.requestCallback<Decoded<Res>>,
  ): grpc.ClientUnaryCall;
}

/** A server-streaming client method. */
export interface ServerStreamClientMethod<Req, Res> {
  (request: Init<Req>, metadata?: grpc.Metadata, options?: Partial<grpc.CallOptions>): grpc.ClientReadableStream<
    Decoded<Res>
  >;
}

/** A bidirectional-streaming client method. */
export interface BidiClientMethod<Req, Res> {
  (metadata?: grpc.Metadata, options?: Partial<grpc.CallOptions>): grpc.ClientDuplexStream<Init<Req>, Decoded<Res>>;
}

type ClientMethodOf<M> =
  M extends Unary<infer Q, infer R>
    ? UnaryClientMethod<Q, R>
    : M extends ServerStream<infer Q, infer R>
      ? ServerStreamClientMethod<Q, R>
      : M extends Bidi<infer Q, infer R>
        ? BidiClientMethod<Q, R>
        : never;

/**
 * A typed client: grpc.Client plus one method per RPC under its proto name
 * (`Range`). Requests are Init<...> objects; responses arrive decoded.
 */
export type ServiceClient<S extends ServiceName> = grpc.Client & {
  [K in keyof ServiceMethods[S]]: ClientMethodOf<ServiceMethods[S][K]>;
};

export type ServiceClientConstructor<S extends ServiceName> = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => ServiceClient<S>;

const constructors = new Map<ServiceName, grpc.ServiceClientConstructor>();

/** The (cached) client class for a service, e.g. `new (clientConstructor('KV'))(addr, creds)`. */
export function clientConstructor<S extends ServiceName>(name: S): ServiceClientConstructor<S> {
  let ctor = constructors.get(name);
  if (ctor === undefined) {
    ctor = grpc.makeGenericClientConstructor(serviceDefinition(name), SERVICES[name]);
    constructors.set(name, ctor);
  }
  return ctor as unknown as ServiceClientConstructor<S>;
}

/** Convenience: a client for `name` at `address` (host:port), insecure unless credentials are given. */
export function createClient<S extends ServiceName>(
  name: S,
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options?: grpc.ClientOptions,
): ServiceClient<S> {
  const Ctor = clientConstructor(name);
  return new Ctor(address, credentials, options);
}

/**
 * Promise form of a unary call: `await unaryCall(client.Range.bind(client), req)`.
 * Rejects with the grpc ServiceError.
 */
export function unaryCall<Req, Res>(
  method: UnaryClientMethod<Req, Res>,
  request: Init<Req>,
  metadata: grpc.Metadata = new grpc.Metadata(),
  options: Partial<grpc.CallOptions> = {},
): Promise<Decoded<Res>> {
  return new Promise((resolve, reject) => {
    method(request, metadata, options, (err, res) => {
      if (err) reject(err);
      else if (res === undefined) reject(new Error('grpc: unary call ended without a response'));
      else resolve(res);
    });
  });
}
