/**
 * PeerTransport: how a member's Raft node talks to the other members.
 *
 * Outgoing: `send` sorts messages by destination. Ordinary messages go into that peer's
 * bounded queue and out over one long-lived stream (MessageStream); a MsgSnap goes through
 * its own SendSnapshot call, one at a time per peer, with the backend data from
 * `snapshotSource`, and its outcome is reported with `onSnapshotStatus`. Incoming: a gRPC
 * server on the member's peer URL (PeerServer) hands messages to `onMessage`, snapshots to
 * `snapshotSink` first. Each peer is also probed for its round-trip time.
 *
 * The transport never blocks Raft and never holds unbounded memory: when a queue is full the
 * message is dropped and the peer reported unreachable, exactly what Raft expects of a lossy
 * network. Callbacks into the application never run inside `send`.
 */
import type * as grpc from '@grpc/grpc-js';
import { type Message, MessageType } from '../raft/types.js';
import { Backoff } from './backoff.js';
import { hexId, SILENT_LOGGER, type TransportLogger } from './logger.js';
import { MessageStream } from './message-stream.js';
import { PeerChannel } from './peer-channel.js';
import { PeerServer } from './peer-server.js';
import { grpcTarget } from './peer-service.js';
import { Prober } from './prober.js';
import { encodeMessage } from './raft-codec.js';
import { sendSnapshot } from './snapshot-sender.js';
import {
  clientChannelOptions,
  DEFAULT_CLOSE_GRACE_MS,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MAX_QUEUED_BYTES,
  DEFAULT_MAX_QUEUED_MESSAGES,
  DEFAULT_PROBE_INTERVAL_MS,
  DEFAULT_PROBE_TIMEOUT_MS,
  DEFAULT_RECONNECT_BASE_MS,
  DEFAULT_RECONNECT_MAX_MS,
  DEFAULT_SNAPSHOT_CHUNK_BYTES,
} from './tuning.js';

export interface PeerTransportOptions {
  readonly localId: number;
  readonly clusterId: number;
  /** A message from a peer, for Raft's `step`. */
  readonly onMessage: (msg: Message) => void;
  /** The backend data to stream with an outgoing MsgSnap. */
  readonly snapshotSource: (msg: Message) => Promise<AsyncIterable<Uint8Array>>;
  /** Stores an incoming snapshot's data; once it resolves, `msg` goes to `onMessage`. */
  readonly snapshotSink: (msg: Message, data: AsyncIterable<Uint8Array>) => Promise<void>;
  /** A message to `peerId` was lost or its stream broke (Raft's `reportUnreachable`). */
  readonly onUnreachable: (peerId: number) => void;
  /** The outcome of a MsgSnap sent to `peerId` (Raft's `reportSnapshot`). */
  readonly onSnapshotStatus: (peerId: number, ok: boolean) => void;
  /**
   * A peer refused this member as one it removed from the cluster (etcd's 410 Gone): the
   * removal is committed, so the member should stop, as etcd's does.
   */
  readonly onRemoved?: (peerId: number) => void;
  readonly logger?: TransportLogger;
  /** Uniform in [0, 1), for reconnect jitter; Math.random unless a test pins it. */
  readonly random?: () => number;
  readonly maxQueuedMessages?: number;
  readonly maxQueuedBytes?: number;
  readonly maxBatchBytes?: number;
  readonly snapshotChunkBytes?: number;
  readonly reconnectBaseMs?: number;
  readonly reconnectMaxMs?: number;
  readonly probeIntervalMs?: number;
  readonly probeTimeoutMs?: number;
  readonly closeGraceMs?: number;
}

interface Peer {
  readonly id: number;
  readonly urls: readonly string[];
  readonly channel: PeerChannel;
  readonly stream: MessageStream;
  readonly prober: Prober;
  /** The snapshot transfer in progress, if any. */
  snapshot: AbortController | undefined;
}

export class PeerTransport {
  private readonly logger: TransportLogger;
  private readonly peers = new Map<number, Peer>();
  /** Members removed from the cluster: never re-added, their messages ignored. */
  private readonly removed = new Set<number>();
  private readonly snapshotTasks = new Set<Promise<void>>();
  private readonly server: PeerServer;
  private port: number | undefined;
  private closed = false;

  constructor(private readonly o: PeerTransportOptions) {
    this.logger = o.logger ?? SILENT_LOGGER;
    this.server = new PeerServer({
      localId: o.localId,
      clusterId: o.clusterId,
      isRemoved: (id) => this.removed.has(id),
      deliver: (msg) => {
        if (!this.closed) o.onMessage(msg);
      },
      snapshotSink: o.snapshotSink,
      logger: this.logger,
    });
  }

  /** Serves another gRPC service on the peer port, next to the transport's; call before listen. */
  addService(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    this.server.addService(definition, implementation);
  }

  /** Serves peers on `url` (http://host:port; port 0 picks one, see `boundPort`). */
  async listen(url: string): Promise<void> {
    if (this.closed) throw new Error('kvfleet: transport closed');
    if (this.port !== undefined) throw new Error('kvfleet: transport already listening');
    this.port = await this.server.listen(grpcTarget(url));
    this.logger.info(`member ${hexId(this.o.localId)} listening for peers on port ${this.port}`);
  }

  /** The port `listen` bound. */
  get boundPort(): number {
    if (this.port === undefined) throw new Error('kvfleet: transport is not listening');
    return this.port;
  }

  /** Starts talking to member `id` at `urls`. An id already known is updated instead. */
  addPeer(id: number, urls: readonly string[]): void {
    if (this.closed) throw new Error('kvfleet: transport closed');
    if (this.removed.has(id)) throw new Error(`kvfleet: member ${hexId(id)} was removed and cannot be added again`);
    if (id === this.o.localId) throw new Error('kvfleet: a member is not its own peer');
    if (this.peers.has(id)) {
      this.updatePeer(id, urls);
      return;
    }
    this.peers.set(id, this.openPeer(id, urls));
  }

  /** Points member `id` at new URLs; what was queued for the old ones is dropped (Raft resends). */
  updatePeer(id: number, urls: readonly string[]): void {
    const peer = this.peers.get(id);
    if (peer === undefined) throw new Error(`kvfleet: unknown peer ${hexId(id)}`);
    if (peer.urls.length === urls.length && peer.urls.every((u, i) => u === urls[i])) return;
    const next = this.openPeer(id, urls); // validates the URLs before the old peer goes
    this.closePeer(peer);
    this.peers.set(id, next);
  }

  /** Forgets member `id` for good: its streams stop, and its messages are ignored from now on. */
  removePeer(id: number): void {
    this.removed.add(id);
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    this.peers.delete(id);
    this.closePeer(peer);
  }

  /** Queues messages for their destinations and returns at once. */
  send(messages: readonly Message[]): void {
    if (this.closed) return;
    for (const m of messages) {
      const peer = this.peers.get(m.to);
      if (peer === undefined) {
        if (!this.removed.has(m.to)) this.logger.debug(`dropped ${MessageType[m.type]} to unknown peer ${hexId(m.to)}`);
        continue;
      }
      if (m.type === MessageType.MsgSnap) this.startSnapshot(peer, m);
      else peer.stream.enqueue(encodeMessage(m));
    }
  }

  /** The last measured round-trip time to `peerId` in milliseconds, if any. */
  rtt(peerId: number): number | undefined {
    return this.peers.get(peerId)?.prober.rtt;
  }

  /** What waits for `peerId` (queued or in the stream's buffer) and how much was dropped so far. */
  queueStats(peerId: number): { messages: number; bytes: number; dropped: number } | undefined {
    const s = this.peers.get(peerId)?.stream;
    return s === undefined ? undefined : { messages: s.queuedMessages, bytes: s.queuedBytes, dropped: s.dropped };
  }

  /** Flushes and ends outgoing streams, stops the server, and releases every handle. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const grace = this.o.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
    const peers = [...this.peers.values()];
    this.peers.clear();
    for (const p of peers) {
      p.prober.stop();
      p.snapshot?.abort();
    }
    await Promise.all(peers.map((p) => p.stream.close(grace)));
    await this.server.close(grace);
    await Promise.allSettled([...this.snapshotTasks]);
    for (const p of peers) p.channel.close();
  }

  private openPeer(id: number, urls: readonly string[]): Peer {
    const o = this.o;
    const baseMs = o.reconnectBaseMs ?? DEFAULT_RECONNECT_BASE_MS;
    const maxMs = o.reconnectMaxMs ?? DEFAULT_RECONNECT_MAX_MS;
    const channel = new PeerChannel([...urls], clientChannelOptions(baseMs, maxMs));
    const onRemoved = (): void => this.report('onRemoved', () => o.onRemoved?.(id));
    const common = { peerId: id, localId: o.localId, clusterId: o.clusterId, channel, logger: this.logger, onRemoved };
    const stream = new MessageStream({
      ...common,
      backoff: new Backoff({ baseMs, maxMs, random: o.random ?? Math.random }),
      maxQueuedMessages: o.maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES,
      maxQueuedBytes: o.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
      maxBatchBytes: o.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
      onUnreachable: () => this.report('onUnreachable', () => o.onUnreachable(id)),
    });
    const prober = new Prober({
      ...common,
      intervalMs: o.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS,
      timeoutMs: o.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
    });
    return { id, urls: [...urls], channel, stream, prober, snapshot: undefined };
  }

  private closePeer(peer: Peer): void {
    peer.stream.abort();
    peer.prober.stop();
    peer.snapshot?.abort();
    peer.channel.close();
  }

  private startSnapshot(peer: Peer, msg: Message): void {
    if (peer.snapshot !== undefined) {
      // Raft sends one snapshot per follower and waits for its status, so this is a stray.
      this.logger.warn(`peer ${hexId(peer.id)}: a snapshot is already being sent; refusing another`);
      queueMicrotask(() => this.reportSnapshot(peer.id, false));
      return;
    }
    const abort = new AbortController();
    peer.snapshot = abort;
    const index = msg.snapshot?.metadata.index ?? 0;
    const task = (async () => {
      let ok = false;
      try {
        const data = await this.o.snapshotSource(msg);
        abort.signal.throwIfAborted();
        const bytes = await sendSnapshot({
          client: peer.channel.client,
          localId: this.o.localId,
          clusterId: this.o.clusterId,
          message: msg,
          data,
          chunkBytes: this.o.snapshotChunkBytes ?? DEFAULT_SNAPSHOT_CHUNK_BYTES,
          signal: abort.signal,
        });
        ok = true;
        this.logger.info(`peer ${hexId(peer.id)}: sent snapshot at index ${index} (${bytes} bytes)`);
      } catch (e) {
        this.logger.warn(`peer ${hexId(peer.id)}: snapshot at index ${index} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (peer.snapshot === abort) peer.snapshot = undefined;
      // A removed peer or a closed transport has nobody left to tell.
      if (abort.signal.aborted) return;
      if (!ok) this.report('onUnreachable', () => this.o.onUnreachable(peer.id));
      this.reportSnapshot(peer.id, ok);
    })();
    this.snapshotTasks.add(task);
    void task.finally(() => this.snapshotTasks.delete(task));
  }

  private reportSnapshot(peerId: number, ok: boolean): void {
    this.report('onSnapshotStatus', () => this.o.onSnapshotStatus(peerId, ok));
  }

  /** Runs an application callback unless closed; its exceptions are logged, not thrown into gRPC. */
  private report(name: string, fn: () => void): void {
    if (this.closed) return;
    try {
      fn();
    } catch (e) {
      this.logger.error(`${name} threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
