/**
 * etcd's JSON gateway (`/v3/...`) on a fastify app: every route decodes its JSON body as etcd's
 * grpc-gateway does, calls the server's own gRPC service over a loopback client and answers in
 * etcd's JSON. Streaming calls answer with one `{"result": ...}` object per line.
 */
import * as grpc from '@grpc/grpc-js';
import * as proto from '../proto/index.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Message } from 'protobufjs';
import { decodeNext, GoJsonError } from './go-json.js';
import { errorBody, httpStatusFromCode, streamErrorChunk } from './grpc-http-status.js';
import { jsonToMessage } from './json-to-message.js';
import { messageToJson } from './message-to-json.js';
import { GATEWAY_ROUTES, resolveRoute, type ResolvedRoute } from './routes.js';

export interface GatewayOptions {
  /** The gRPC endpoint the gateway calls (the member's or proxy's own), `host:port`; read at the first request. */
  grpcAddress: string | (() => string);
  /**
   * Largest request body accepted, in bytes. Default 8 MiB: room for etcd's largest gRPC request
   * (1.5 MiB + 512 KiB) in base64 JSON, so the gRPC server, not the gateway, refuses big ones.
   */
  maxBodyBytes?: number;
}

export const DEFAULT_GATEWAY_MAX_BODY_BYTES = 8 * 1024 * 1024;

/** gRPC headers grpc-gateway forwards as `Grpc-Metadata-*` on a successful answer. */
const OK_HEADERS = { 'content-type': 'application/json', 'grpc-metadata-content-type': 'application/grpc' } as const;
const ERROR_HEADERS = { 'content-type': 'application/json' } as const;
const TEXT_HEADERS = { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' } as const;

/** Bodies are read as Go reads them: invalid UTF-8 becomes U+FFFD, a BOM is kept (and refused). */
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Registers the gateway's routes in their own fastify context (its body parser accepts any
 * content type, as etcd's does). Call before the app starts listening.
 */
export function registerGateway(app: FastifyInstance, options: GatewayOptions): void {
  void app.register(gatewayPlugin, options);
}

/** The gateway as a fastify plugin, for `app.register(gatewayPlugin, options)`. */
export async function gatewayPlugin(app: FastifyInstance, options: GatewayOptions): Promise<void> {
  const clients = new Map<proto.ServiceName, grpc.Client>();
  const clientFor = (service: proto.ServiceName): grpc.Client => {
    let c = clients.get(service);
    if (c === undefined) {
      // No size caps on the loopback: the member's own limits decide, as etcd's gateway dials with MaxInt32.
      c = proto.createClient(service, typeof options.grpcAddress === 'string' ? options.grpcAddress : options.grpcAddress(), grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': -1,
        'grpc.max_send_message_length': -1,
      });
      clients.set(service, c);
    }
    return c;
  };
  /** Cancelers of the streams in flight, so closing the app does not wait for watchers to leave. */
  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const cancel of [...openStreams]) cancel();
  });
  app.addHook('onClose', async () => {
    for (const c of clients.values()) c.close();
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: options.maxBodyBytes ?? DEFAULT_GATEWAY_MAX_BODY_BYTES },
    (_req, body, done) => done(null, body),
  );
  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    // Only the body reader fails here (too large, aborted); Go's MaxBytesReader wording for the first.
    const statusCode = error.statusCode ?? 500;
    const message = statusCode === 413 ? 'http: request body too large' : error.message;
    void reply
      .code(statusCode)
      .headers(ERROR_HEADERS)
      .send(Buffer.from(errorBody(statusCode === 413 ? grpc.status.INVALID_ARGUMENT : grpc.status.UNKNOWN, message)));
  });

  for (const route of GATEWAY_ROUTES.map(resolveRoute)) {
    const client = (): grpc.Client => clientFor(route.service);
    const handler =
      route.shape === 'unary'
        ? (req: FastifyRequest, reply: FastifyReply) => unary(route, client(), req, reply)
        : (req: FastifyRequest, reply: FastifyReply) => streaming(route, client(), req, reply, openStreams);
    app.post(route.path, handler);
    // grpc-gateway answers other methods on a known path with 405.
    app.route({
      method: ['GET', 'PUT', 'DELETE', 'PATCH'],
      url: route.path,
      handler: (_req, reply) => void reply.code(405).headers(TEXT_HEADERS).send('Method Not Allowed\n'),
    });
  }
  app.post('/v3/*', (_req, reply) => void reply.code(404).headers(TEXT_HEADERS).send('Not Found\n'));
}

function bodyText(body: unknown): string {
  return Buffer.isBuffer(body) ? UTF8.decode(body) : '';
}

/** The request message from the body's first JSON value (an empty body is an empty request). */
function firstRequest(route: ResolvedRoute, text: string): Message {
  const first = decodeNext(text, 0);
  return route.requestType.fromObject(jsonToMessage(route.requestType, first?.value ?? null));
}

function sendError(reply: FastifyReply, code: number, message: string): void {
  // A Buffer, so fastify leaves etcd's bare `application/json` content type alone.
  void reply.code(httpStatusFromCode(code)).headers(ERROR_HEADERS).send(Buffer.from(errorBody(code, message)));
}

function unary(route: ResolvedRoute, client: grpc.Client, request: FastifyRequest, reply: FastifyReply): void {
  let message: Message;
  try {
    message = firstRequest(route, bodyText(request.body));
  } catch (e) {
    if (e instanceof GoJsonError) return sendError(reply, grpc.status.INVALID_ARGUMENT, e.message);
    throw e;
  }
  const call = client.makeUnaryRequest(
    route.grpcPath,
    serialize,
    (bytes: Buffer) => route.responseType.decode(bytes),
    message,
    new grpc.Metadata(),
    {},
    (err, res) => {
      reply.raw.off('close', cancel);
      if (err) sendError(reply, err.code, err.details);
      else if (res === undefined) sendError(reply, grpc.status.INTERNAL, 'no response');
      else void reply.code(200).headers(OK_HEADERS).send(Buffer.from(messageToJson(route.responseType, res)));
    },
  );
  // A client that goes away cancels the call.
  const cancel = (): void => call.cancel();
  reply.raw.once('close', cancel);
}

function serialize(m: Message): Buffer {
  const bytes = m.$type.encode(m).finish();
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Server-streaming and bidirectional calls. A server stream takes the body's first JSON value; a
 * bidirectional one sends every value in the body (grpc-gateway stops at the first it cannot
 * decode; failing on the very first answers 500 with code UNKNOWN, as etcd 3.4 does).
 */
function streaming(
  route: ResolvedRoute,
  client: grpc.Client,
  request: FastifyRequest,
  reply: FastifyReply,
  openStreams: Set<() => void>,
): void {
  const text = bodyText(request.body);
  const messages: Message[] = [];
  try {
    if (route.shape === 'serverStream') {
      messages.push(firstRequest(route, text));
    } else {
      let at = 0;
      for (;;) {
        let next: ReturnType<typeof decodeNext>;
        try {
          next = decodeNext(text, at);
          if (next === undefined) break;
          messages.push(route.requestType.fromObject(jsonToMessage(route.requestType, next.value)));
        } catch (e) {
          if (e instanceof GoJsonError && messages.length === 0) return sendError(reply, grpc.status.UNKNOWN, e.message);
          if (e instanceof GoJsonError) break;
          throw e;
        }
        at = next.end;
      }
    }
  } catch (e) {
    if (e instanceof GoJsonError) return sendError(reply, grpc.status.INVALID_ARGUMENT, e.message);
    throw e;
  }

  reply.hijack();
  const res = reply.raw;
  const deserialize = (bytes: Buffer): Message => route.responseType.decode(bytes);
  let call: grpc.ClientReadableStream<Message>;
  if (route.shape === 'serverStream') {
    call = client.makeServerStreamRequest(route.grpcPath, serialize, deserialize, messages[0]!, new grpc.Metadata(), {});
  } else {
    const duplex = client.makeBidiStreamRequest(route.grpcPath, serialize, deserialize, new grpc.Metadata(), {});
    for (const m of messages) duplex.write(m);
    // etcd keeps a watch stream open after the request body ends (its recvLoop ignores EOF);
    // kvfleet's Watch service ends on half-close, so the gateway keeps the send side open.
    if (route.service !== 'Watch') duplex.end();
    call = duplex;
  }

  let wroteHead = false;
  let done = false;
  let clientGone = false;
  let ended = false;
  let final: grpc.StatusObject | undefined;
  const cancel = (): void => {
    if (done) return;
    clientGone = true;
    call.cancel();
    if (!res.writableEnded) res.end();
  };
  openStreams.add(cancel);
  res.once('close', cancel);

  const finish = (): void => {
    if (done || final === undefined || !ended) return;
    done = true;
    openStreams.delete(cancel);
    res.off('close', cancel);
    if (clientGone || res.writableEnded) return;
    const { code, details } = final;
    if (code === grpc.status.OK) {
      if (!wroteHead) res.writeHead(200, OK_HEADERS);
      res.end();
    } else if (!wroteHead) {
      res.writeHead(httpStatusFromCode(code), ERROR_HEADERS);
      res.end(errorBody(code, details));
    } else {
      res.end(streamErrorChunk(code, details));
    }
  };

  call.on('data', (m: Message) => {
    if (clientGone) return;
    if (!wroteHead) {
      res.writeHead(200, OK_HEADERS);
      wroteHead = true;
    }
    // Backpressure: a slow HTTP reader pauses the gRPC stream (and gRPC flow control the member).
    if (!res.write(`{"result":${messageToJson(route.responseType, m)}}\n`)) {
      call.pause();
      res.once('drain', () => call.resume());
    }
  });
  call.on('error', () => {
    // Reported through 'status'; without a listener an error event would throw.
  });
  call.on('status', (s: grpc.StatusObject) => {
    final = s;
    // Errors are emitted before buffered messages are read; finish after 'end' in every case.
    if (call.readableEnded) ended = true;
    finish();
  });
  call.on('end', () => {
    ended = true;
    finish();
  });
}
