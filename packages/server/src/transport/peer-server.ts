/**
 * The receiving side: the gRPC server on this member's peer URL and the three Peer methods.
 *
 * Every call is checked first: a caller from another cluster, or a member that was removed,
 * gets FAILED_PRECONDITION with a message saying why, before any of its messages is read.
 * Accepted streams are answered with headers at once, which is how the sender learns its
 * stream is healthy. Messages from a removed member are also dropped one by one, since a
 * stream may have been accepted before the removal.
 */
import * as grpc from '@grpc/grpc-js';
import { type Message, MessageType } from '../raft/types.js';
import { hexId, type TransportLogger } from './logger.js';
import { type CallerIdentity, memberRemovedStatus, PEER_METHODS, readIdentity, toBuffer } from './peer-service.js';
import {
  decodeBatch,
  decodeProbeRequest,
  decodeSnapshotChunk,
  encodeProbeResponse,
  encodeSnapshotAck,
  encodeStreamAck,
  type ProbeRecord,
  type SnapshotChunk,
} from './raft-codec.js';
import { serverChannelOptions } from './tuning.js';

export interface PeerServerOptions {
  readonly localId: number;
  readonly clusterId: number;
  readonly isRemoved: (memberId: number) => boolean;
  /** Hands one received message to Raft. */
  readonly deliver: (msg: Message) => void;
  readonly snapshotSink: (msg: Message, data: AsyncIterable<Uint8Array>) => Promise<void>;
  readonly logger: TransportLogger;
}

type Reply<T> = grpc.sendUnaryData<T>;

export class PeerServer {
  private readonly server = new grpc.Server(serverChannelOptions());
  /** Ends each live incoming Stream call (with its acknowledgement); used by close(). */
  private readonly liveStreams = new Set<() => void>();
  private listening = false;

  constructor(private readonly o: PeerServerOptions) {
    this.server.register<Message[], Uint8Array>(
      PEER_METHODS.stream,
      (call: grpc.ServerReadableStream<Message[], Uint8Array>, reply: Reply<Uint8Array>) => this.onStream(call, reply),
      toBuffer,
      decodeBatch,
      'clientStream',
    );
    this.server.register<SnapshotChunk, Uint8Array>(
      PEER_METHODS.sendSnapshot,
      (call: grpc.ServerReadableStream<SnapshotChunk, Uint8Array>, reply: Reply<Uint8Array>) =>
        void this.onSnapshot(call, reply),
      toBuffer,
      decodeSnapshotChunk,
      'clientStream',
    );
    this.server.register<ProbeRecord, Uint8Array>(
      PEER_METHODS.probe,
      (call: grpc.ServerUnaryCall<ProbeRecord, Uint8Array>, reply: Reply<Uint8Array>) => this.onProbe(call, reply),
      toBuffer,
      decodeProbeRequest,
      'unary',
    );
  }

  /** Serves another service on the peer port (e.g. calls members forward to the leader). Before listen. */
  addService(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    this.server.addService(definition, implementation);
  }

  /** Binds "host:port" (port 0 picks a free one) and returns the bound port. */
  listen(hostPort: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(hostPort, grpc.ServerCredentials.createInsecure(), (err, port) => {
        if (err !== null) reject(err);
        else {
          this.listening = true;
          resolve(port);
        }
      });
    });
  }

  /**
   * Answers every live stream (so senders see a clean end, not a reset), then waits up to
   * graceMs for calls to finish before cutting the rest (snapshots in progress).
   */
  async close(graceMs: number): Promise<void> {
    for (const end of [...this.liveStreams]) end();
    if (!this.listening) {
      this.server.forceShutdown();
      return;
    }
    await new Promise<void>((resolve) => {
      const cut = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(cut);
        resolve();
      });
    });
  }

  /** Why a caller is refused, or undefined when it may proceed. */
  private refuse(who: CallerIdentity | undefined): grpc.StatusObject | undefined {
    const fail = (code: grpc.status, details: string): grpc.StatusObject => ({ code, details, metadata: new grpc.Metadata() });
    if (who === undefined) return fail(grpc.status.INVALID_ARGUMENT, 'kvfleet: missing sender or cluster id header');
    if (who.clusterId !== this.o.clusterId) {
      return fail(
        grpc.status.FAILED_PRECONDITION,
        `kvfleet: cluster ID mismatch: member ${hexId(this.o.localId)} is in cluster ${hexId(this.o.clusterId)}, ` +
          `sender ${hexId(who.senderId)} is in cluster ${hexId(who.clusterId)}`,
      );
    }
    if (this.o.isRemoved(who.senderId)) return memberRemovedStatus(`kvfleet: member ${hexId(who.senderId)} was removed from the cluster`);
    return undefined;
  }

  private accept(msg: Message, who: CallerIdentity): void {
    if (this.o.isRemoved(msg.from) || this.o.isRemoved(who.senderId)) return;
    if (msg.to !== this.o.localId) {
      this.o.logger.warn(
        `dropped ${MessageType[msg.type]} from ${hexId(msg.from)} addressed to ${hexId(msg.to)}, not to this member`,
      );
      return;
    }
    try {
      this.o.deliver(msg);
    } catch (e) {
      this.o.logger.error(`raft rejected ${MessageType[msg.type]} from ${hexId(msg.from)}: ${String(e)}`);
    }
  }

  private onStream(call: grpc.ServerReadableStream<Message[], Uint8Array>, reply: Reply<Uint8Array>): void {
    const who = readIdentity(call.metadata);
    const refusal = this.refuse(who);
    if (refusal !== undefined || who === undefined) {
      reply(refusal ?? null);
      return;
    }
    let received = 0;
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      this.liveStreams.delete(end);
      reply(null, encodeStreamAck(received));
    };
    this.liveStreams.add(end);
    call.sendMetadata(new grpc.Metadata());
    call.on('data', (batch: Message[]) => {
      if (done) return;
      received += batch.length;
      for (const m of batch) this.accept(m, who);
    });
    call.on('end', end);
    const drop = (): void => {
      done = true;
      this.liveStreams.delete(end);
    };
    call.on('cancelled', drop);
    call.on('error', drop);
  }

  private async onSnapshot(call: grpc.ServerReadableStream<SnapshotChunk, Uint8Array>, reply: Reply<Uint8Array>): Promise<void> {
    const who = readIdentity(call.metadata);
    const refusal = this.refuse(who);
    if (refusal !== undefined || who === undefined) {
      reply(refusal ?? null);
      return;
    }
    // A sender that vanishes must fail the sink's read, not leave it waiting for data.
    call.on('cancelled', () => call.destroy(new Error('kvfleet: snapshot sender cancelled')));
    const chunks = call[Symbol.asyncIterator]() as AsyncIterator<SnapshotChunk>;
    const fail = (code: grpc.status, details: string): void => {
      reply({ code, details });
      call.destroy();
    };
    try {
      const first = await chunks.next();
      const head = first.done === true ? undefined : first.value;
      if (head?.kind !== 'message' || head.message.type !== MessageType.MsgSnap) {
        fail(grpc.status.INVALID_ARGUMENT, 'kvfleet: a snapshot stream must start with its MsgSnap');
        return;
      }
      const msg = head.message;
      if (this.o.isRemoved(msg.from)) {
        reply(memberRemovedStatus(`kvfleet: member ${hexId(msg.from)} was removed from the cluster`));
        call.destroy();
        return;
      }
      let receivedBytes = 0;
      let complete = false;
      async function* data(): AsyncGenerator<Uint8Array> {
        for (;;) {
          const next = await chunks.next();
          if (next.done === true) throw new Error('kvfleet: snapshot stream ended before its trailer');
          const c = next.value;
          if (c.kind === 'data') {
            receivedBytes += c.data.byteLength;
            yield c.data;
          } else if (c.kind === 'trailer') {
            if (c.totalBytes !== receivedBytes) {
              throw new Error(`kvfleet: snapshot trailer says ${c.totalBytes} bytes, received ${receivedBytes}`);
            }
            complete = true;
            return;
          } else {
            throw new Error('kvfleet: a second MsgSnap inside one snapshot stream');
          }
        }
      }
      await this.o.snapshotSink(msg, data());
      if (!complete) throw new Error('kvfleet: the snapshot sink returned before reading all the data');
      // Raft learns of the snapshot before the sender hears it landed: the sender's
      // success report makes its leader send appends that build on it.
      this.accept(msg, who);
      reply(null, encodeSnapshotAck(receivedBytes));
    } catch (e) {
      this.o.logger.warn(`snapshot from ${hexId(who.senderId)} failed: ${e instanceof Error ? e.message : String(e)}`);
      fail(grpc.status.ABORTED, `kvfleet: snapshot not stored: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private onProbe(call: grpc.ServerUnaryCall<ProbeRecord, Uint8Array>, reply: Reply<Uint8Array>): void {
    const header = readIdentity(call.metadata);
    // The request body repeats the cluster id, so a probe is checked even without headers.
    const refusal = this.refuse(header ?? { senderId: call.request.memberId, clusterId: call.request.clusterId });
    if (refusal === undefined && call.request.clusterId !== this.o.clusterId) {
      reply({ code: grpc.status.FAILED_PRECONDITION, details: 'kvfleet: cluster ID mismatch' });
      return;
    }
    if (refusal !== undefined) {
      reply(refusal);
      return;
    }
    reply(null, encodeProbeResponse({ clusterId: this.o.clusterId, memberId: this.o.localId }));
  }
}
