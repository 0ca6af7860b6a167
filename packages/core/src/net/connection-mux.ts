/**
 * One TCP listener that serves gRPC and HTTP/1.1 on the same port, as etcd does on its client
 * URLs (cmux): the first bytes of each connection decide. A connection that opens with the
 * HTTP/2 client preface goes to gRPC; anything else goes to HTTP/1.1. The bytes read to decide
 * are put back (`unshift`) before the connection is handed over, so the receiver sees the
 * stream from its first byte.
 *
 * Bounded: at most {@link HTTP2_PREFACE}.length bytes are held per undecided connection, at
 * most `maxUndecided` connections may be undecided at once (more are closed), and one that
 * sends nothing decisive within `sniffTimeoutMs` is closed.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** What an HTTP/2 client sends first (RFC 9113 §3.4); gRPC always speaks HTTP/2 with prior knowledge. */
export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export type ConnectionKind = 'grpc' | 'http';

export interface ConnectionMuxOptions {
  /** Receives a connection with the preface (and everything after it) still to be read. */
  onGrpc(socket: Socket): void;
  /** Receives an HTTP/1.x connection, its first bytes still to be read. */
  onHttp(socket: Socket): void;
  /** Close a connection that has not shown its kind after this long. Default 10 s. */
  sniffTimeoutMs?: number;
  /** Undecided connections held at once; further ones are closed. Default 1024. */
  maxUndecided?: number;
}

/** Classifies the first bytes of a connection: a kind, or undefined while they could still be either. */
export function classify(head: Buffer): ConnectionKind | undefined {
  const n = Math.min(head.length, HTTP2_PREFACE.length);
  if (head.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n))) return n === HTTP2_PREFACE.length ? 'grpc' : undefined;
  return 'http';
}

export class ConnectionMux {
  private readonly server: Server;
  private readonly undecided = new Set<Socket>();
  /** Every open connection this listener accepted, decided or not, for a forced close. */
  private readonly open = new Set<Socket>();
  private readonly sniffTimeoutMs: number;
  private readonly maxUndecided: number;
  private closed: Promise<void> | undefined;

  constructor(private readonly options: ConnectionMuxOptions) {
    this.sniffTimeoutMs = options.sniffTimeoutMs ?? 10_000;
    this.maxUndecided = options.maxUndecided ?? 1024;
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Listens on `host:port` (port 0 picks one); resolves with the port bound. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      this.server.listen({ host, port, exclusive: true }, () => {
        this.server.off('error', onError);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Connections waiting for their first bytes (tests check that none leak). */
  get undecidedCount(): number {
    return this.undecided.size;
  }

  /**
   * Stops accepting and closes undecided connections. Resolves when the listener is closed,
   * which Node delays until every connection it accepted has ended: the gRPC and HTTP servers
   * that took them over should close theirs meanwhile; whatever is still open after `graceMs`
   * is destroyed.
   */
  close(graceMs = 2000): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      const force = setTimeout(() => {
        for (const s of this.open) s.destroy();
      }, graceMs);
      force.unref();
      this.server.close(() => {
        clearTimeout(force);
        resolve();
      });
      for (const s of this.undecided) s.destroy();
      this.undecided.clear();
    });
    return this.closed;
  }

  private accept(socket: Socket): void {
    if (this.closed !== undefined || this.undecided.size >= this.maxUndecided) {
      socket.destroy();
      return;
    }
    this.undecided.add(socket);
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
    let head: Buffer = Buffer.alloc(0);
    const forget = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('close', onGone);
      socket.off('error', onGone);
      this.undecided.delete(socket);
    };
    const onGone = (): void => {
      forget();
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const kind = classify(head);
      if (kind === undefined) return;
      forget();
      socket.pause();
      socket.unshift(head);
      if (kind === 'grpc') {
        // Node's HTTP/2 session reads the put-back bytes and the socket itself; resuming the
        // stream here would steal frames from it.
        this.options.onGrpc(socket);
      } else {
        // Node's HTTP/1 server listens for 'data' but never resumes a paused socket it is handed.
        this.options.onHttp(socket);
        socket.resume();
      }
    };
    const timer = setTimeout(onGone, this.sniffTimeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.once('end', onGone);
    socket.once('close', onGone);
    socket.once('error', onGone);
  }
}
