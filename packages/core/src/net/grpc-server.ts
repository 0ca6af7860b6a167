/** grpc-js server helpers shared by members and proxies. */
import * as grpc from '@grpc/grpc-js';

/** Lets in-flight calls finish for up to `graceMs`, then cuts what is left. */
export function shutdownGrpcServer(server: grpc.Server, graceMs = 2000): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

/** Adapts an async unary handler to grpc-js's callback style; `toStatus` maps failures to what the client sees. */
export function unaryHandler<Req, Res>(
  fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
  toStatus: (e: unknown) => Partial<grpc.StatusObject>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (e: unknown) => callback(toStatus(e) as grpc.ServiceError),
    );
  };
}
