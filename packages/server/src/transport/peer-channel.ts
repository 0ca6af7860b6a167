/**
 * The gRPC client (one HTTP/2 connection) to one peer, over its list of URLs. A peer may
 * advertise several URLs; when the stream to one keeps failing, `rotate` moves to the next.
 * Calls already running on the previous client finish on it (grpc-js lets started calls
 * outlive `close`).
 */
import * as grpc from '@grpc/grpc-js';
import { grpcTarget } from './peer-service.js';

export class PeerChannel {
  private index = 0;
  private current: grpc.Client;
  private closed = false;

  constructor(
    private readonly urls: readonly string[],
    private readonly options: grpc.ChannelOptions,
  ) {
    if (urls.length === 0) throw new Error('kvfleet: a peer needs at least one URL');
    urls.forEach(grpcTarget); // fail fast on a malformed URL, not on first use
    this.current = this.open();
  }

  get client(): grpc.Client {
    return this.current;
  }

  get url(): string {
    return this.urls[this.index]!;
  }

  /** Switches to the next URL, if there is more than one. */
  rotate(): void {
    if (this.closed || this.urls.length < 2) return;
    const old = this.current;
    this.index = (this.index + 1) % this.urls.length;
    this.current = this.open();
    old.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.current.close();
  }

  private open(): grpc.Client {
    return new grpc.Client(grpcTarget(this.url), grpc.credentials.createInsecure(), this.options);
  }
}
