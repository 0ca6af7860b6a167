/**
 * The long-lived outgoing `Peer.Stream` call to one peer, with its bounded queue.
 *
 * `enqueue` never blocks: it appends to the queue (or drops, when the queue is full) and
 * schedules one flush per event-loop turn, so everything Raft sends in one turn goes out as
 * few batches. The flush respects the stream's backpressure ('drain'); the queue bound also
 * covers what the stream still buffers, so a stalled peer costs bounded memory. When the call
 * fails, messages in it are lost (Raft retransmits), the owner hears `onUnreachable`, and the
 * stream redials after an exponential, jittered backoff.
 */
import * as grpc from '@grpc/grpc-js';
import type { Backoff } from './backoff.js';
import { BoundedQueue } from './bounded-queue.js';
import { hexId, type TransportLogger } from './logger.js';
import type { PeerChannel } from './peer-channel.js';
import { identityMetadata, PEER_METHODS, toBuffer, isMemberRemovedRefusal } from './peer-service.js';
import { decodeStreamAck, encodeBatch } from './raft-codec.js';

export interface MessageStreamOptions {
  readonly peerId: number;
  readonly localId: number;
  readonly clusterId: number;
  readonly channel: PeerChannel;
  readonly backoff: Backoff;
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  readonly maxBatchBytes: number;
  /** Called (never synchronously inside `enqueue`) after a drop or a failed stream. */
  readonly onUnreachable: () => void;
  /** The peer refused the stream because it removed this member. */
  readonly onRemoved: () => void;
  readonly logger: TransportLogger;
}

type State = 'running' | 'closing' | 'closed';

export class MessageStream {
  private readonly queue: BoundedQueue;
  private call: grpc.ClientWritableStream<Uint8Array> | undefined;
  /** Bytes written to the current call that it has not yet passed on to the socket. */
  private inflight = 0;
  private waitingDrain = false;
  private flushTimer: NodeJS.Immediate | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** A drop happened since the last flush: report it from the flush, outside the caller's stack. */
  private dropPending = false;
  /** Failing since the last healthy connection: later failures are logged quietly. */
  private failing = false;
  private state: State = 'running';
  private callEnded: (() => void) | undefined;
  private droppedCount = 0;

  constructor(private readonly o: MessageStreamOptions) {
    this.queue = new BoundedQueue(o.maxQueuedMessages, o.maxQueuedBytes);
    this.connect();
  }

  /** Messages dropped because the queue was full (for metrics and tests). */
  get dropped(): number {
    return this.droppedCount;
  }

  get queuedMessages(): number {
    return this.queue.length;
  }

  get queuedBytes(): number {
    return this.queue.chargedBytes;
  }

  /** Queues one encoded message; false when it was dropped. */
  enqueue(encoded: Uint8Array): boolean {
    if (this.state !== 'running') return false;
    const ok = this.queue.push(encoded);
    if (!ok) {
      this.droppedCount++;
      this.dropPending = true;
    }
    this.scheduleFlush();
    return ok;
  }

  /** Sends what is queued, ends the call and waits for the peer to acknowledge (at most graceMs). */
  async close(graceMs: number): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'closing';
    this.clearTimers();
    const call = this.call;
    if (call !== undefined) {
      const ended = new Promise<void>((resolve) => (this.callEnded = resolve));
      // Past backpressure now: the queue is bounded and this is the last chance to send it.
      this.writeQueued(call, true);
      call.end();
      const cut = setTimeout(() => call.cancel(), graceMs);
      await ended;
      clearTimeout(cut);
    }
    this.finish();
  }

  /** Stops at once, dropping whatever is queued (the peer was removed). */
  abort(): void {
    if (this.state === 'closed') return;
    const call = this.call;
    this.finish();
    call?.cancel();
  }

  private finish(): void {
    this.state = 'closed';
    this.clearTimers();
    this.call = undefined;
    this.queue.clear();
    this.queue.release(this.inflight);
    this.inflight = 0;
  }

  private clearTimers(): void {
    if (this.flushTimer !== undefined) clearImmediate(this.flushTimer);
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.flushTimer = undefined;
    this.reconnectTimer = undefined;
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined || this.state !== 'running') return;
    this.flushTimer = setImmediate(() => {
      this.flushTimer = undefined;
      this.flush();
    });
  }

  private flush(): void {
    if (this.state !== 'running') return;
    if (this.dropPending) {
      this.dropPending = false;
      this.o.onUnreachable();
    }
    const call = this.call;
    if (call !== undefined && !this.waitingDrain) this.writeQueued(call, false);
  }

  /** Writes queued messages as batches; unless `force`, stops when the stream asks to wait. */
  private writeQueued(call: grpc.ClientWritableStream<Uint8Array>, force: boolean): void {
    while (this.queue.length > 0) {
      const batch = this.queue.take(this.o.maxBatchBytes);
      let bytes = 0;
      for (const m of batch) bytes += m.byteLength;
      this.inflight += bytes;
      const more = call.write(encodeBatch(batch), () => {
        // A late callback from a call already torn down was accounted for then.
        if (this.call !== call) return;
        this.inflight -= bytes;
        this.queue.release(bytes);
      });
      if (!more && !force) {
        this.waitingDrain = true;
        call.once('drain', () => {
          if (this.call !== call) return;
          this.waitingDrain = false;
          this.flush();
        });
        return;
      }
    }
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (this.state !== 'running') return;
    const call: grpc.ClientWritableStream<Uint8Array> = this.o.channel.client.makeClientStreamRequest(
      PEER_METHODS.stream,
      toBuffer,
      decodeStreamAck,
      identityMetadata(this.o.localId, this.o.clusterId),
      {},
      (err) => this.onCallDone(call, err),
    );
    // The receiver sends headers once it accepted us: only then is the connection healthy.
    call.on('metadata', () => {
      if (this.call !== call) return;
      this.o.backoff.reset();
      if (this.failing) this.o.logger.info(`peer ${hexId(this.o.peerId)}: stream re-established`);
      this.failing = false;
    });
    // Failures arrive through the callback; a listener keeps an 'error' from being thrown.
    call.on('error', () => {});
    this.call = call;
    this.waitingDrain = false;
    this.inflight = 0;
    this.scheduleFlush();
  }

  private onCallDone(call: grpc.ClientWritableStream<Uint8Array>, err: grpc.ServiceError | null): void {
    if (this.call !== call) return;
    this.call = undefined;
    this.waitingDrain = false;
    this.queue.release(this.inflight);
    this.inflight = 0;
    if (this.state !== 'running') {
      this.callEnded?.();
      return;
    }
    const delay = Math.round(this.o.backoff.next());
    const why = err === null ? 'ended by the peer' : `${grpc.status[err.code] ?? err.code}: ${err.details}`;
    const line = `peer ${hexId(this.o.peerId)} (${this.o.channel.url}): stream failed (${why}); redialing in ${delay} ms`;
    // A wrong cluster or a removed member will not heal by itself: always worth an error.
    if (err?.code === grpc.status.FAILED_PRECONDITION) this.o.logger.error(line);
    else if (!this.failing) this.o.logger.warn(line);
    else this.o.logger.debug(line);
    this.failing = true;
    if (err?.code === grpc.status.UNAVAILABLE) this.o.channel.rotate();
    this.o.onUnreachable();
    if (isMemberRemovedRefusal(err)) this.o.onRemoved();
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }
}
