/**
 * One client's watch stream: what etcd's serverWatchStream is, minus gRPC. It owns its
 * watchers (ids unique within the stream), answers create/cancel/progress requests, and holds
 * a bounded queue of responses while its sink is paused. Once the queue is full the hub stops
 * pushing events to this stream's watchers; they fall back to catching up from history, so
 * memory stays bounded however slow the client is.
 *
 * Every response goes through one FIFO queue, so a watcher's created response comes before
 * its events and a progress response after every event it vouches for.
 */
import { classifyRange } from '../keys.js';
import {
  ERR_EMPTY_WATCHER_RANGE,
  ERR_WATCHER_DUPLICATE_ID,
  INVALID_WATCH_ID,
  type WatchCreateRequest,
  type WatchResponse,
  type WatchSink,
  type WatchStreamOptions,
  responseBytes,
} from './watch-messages.js';
import { Watcher, type WatcherStream } from './watcher.js';
import type { WatchEnd } from './watcher-index.js';

/** What a stream uses of its hub (WatchHub). */
export interface StreamHost {
  /** The revision the hub has seen (responses carry it). */
  readonly revision: number;
  /** A new watcher: synced if it starts after the hub's revision. */
  attach(w: Watcher): void;
  /** A watcher the stream dropped. */
  detach(w: Watcher): void;
  /** The stream closed. */
  forget(s: WatchStream): void;
}

export const DEFAULT_MAX_QUEUED_RESPONSES = 128;
export const DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024;

export class WatchStream implements WatcherStream {
  private readonly watchers = new Map<number, Watcher>();
  private readonly progressWatchers = new Set<Watcher>();
  /** etcd's AutoWatchID is 0, so allocated ids start there. */
  private nextId = 0;
  private readonly queue: { response: WatchResponse; bytes: number }[] = [];
  private head = 0;
  private queuedBytes = 0;
  private paused = false;
  private closed = false;
  private progressDeferred = false;
  private readonly maxResponses: number;
  private readonly maxBytes: number;
  private readonly unsyncedProgress: 'defer' | 'drop';
  /** Watchers of this stream the hub holds unsynced; kept by the hub. */
  unsyncedCount = 0;

  /** Made by {@link WatchHub.openStream}. */
  constructor(
    private readonly hub: StreamHost,
    private readonly sink: WatchSink,
    options: WatchStreamOptions = {},
  ) {
    this.maxResponses = positive(options.maxQueuedResponses ?? DEFAULT_MAX_QUEUED_RESPONSES, 'maxQueuedResponses');
    this.maxBytes = positive(options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES, 'maxQueuedBytes');
    this.unsyncedProgress = options.unsyncedProgress ?? 'defer';
  }

  /** Number of live watchers. */
  get size(): number {
    return this.watchers.size;
  }

  /** True once the paused sink's queue reached its count or byte bound: no events are pushed. */
  get isFull(): boolean {
    return this.queue.length - this.head >= this.maxResponses || this.queuedBytes >= this.maxBytes;
  }

  /** Responses held while the sink is paused. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Creates a watch and sends (and returns) the created response. As etcd does: an empty key
   * means [0x00]; a range with end <= key, or a client-chosen id already in use, is refused
   * with created and canceled both set, watch id -1 and etcd's reason text.
   */
  create(request: WatchCreateRequest): WatchResponse {
    const key = request.key.length === 0 ? Uint8Array.of(0) : request.key;
    const end = parseEnd(key, request.rangeEnd);
    const wanted = request.watchId ?? 0;
    let reason: string | undefined;
    if (end === 'empty') reason = ERR_EMPTY_WATCHER_RANGE;
    else if (wanted !== 0 && this.watchers.has(wanted)) reason = ERR_WATCHER_DUPLICATE_ID;
    else if (this.closed) reason = ERR_EMPTY_WATCHER_RANGE; // etcd's answer on a closed stream
    if (end === 'empty' || reason !== undefined) {
      const refused: WatchResponse = {
        watchId: INVALID_WATCH_ID,
        created: true,
        canceled: true,
        cancelReason: reason ?? ERR_EMPTY_WATCHER_RANGE,
        events: [],
        revision: this.hub.revision,
      };
      this.push(refused);
      return refused;
    }
    let id = wanted;
    if (id === 0) {
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    }
    // A negative start has nothing before revision 1 to report; read it as "all history".
    const start = request.startRevision === undefined || request.startRevision === 0 ? 0 : Math.max(1, request.startRevision);
    const w = new Watcher(
      id,
      this,
      key.slice(),
      end === undefined || end === 'open' ? end : end.slice(),
      start,
      request.prevKv === true,
      request.noPut === true,
      request.noDelete === true,
      request.progressNotify === true,
    );
    this.watchers.set(id, w);
    if (w.progressNotify) this.progressWatchers.add(w);
    // The created response first: nothing for this watcher can be queued before it.
    const created: WatchResponse = { watchId: id, created: true, events: [], revision: this.hub.revision };
    this.push(created);
    this.hub.attach(w);
    return created;
  }

  /**
   * Cancels watch `id` and sends the canceled response; an unknown id gets no response (as
   * in etcd). Events already queued for it are still delivered, before the cancel.
   */
  cancel(id: number): WatchResponse | undefined {
    const w = this.watchers.get(id);
    if (w === undefined || this.closed) return undefined;
    this.remove(w);
    const r: WatchResponse = { watchId: id, canceled: true, events: [], revision: this.hub.revision };
    this.push(r);
    this.tryProgress();
    return r;
  }

  /**
   * etcd 3.5's progress request: if every watcher of the stream is synced, one response with
   * watch id -1, no events and the hub's current revision. Otherwise deferred until they are
   * (coalescing repeated requests) or dropped, per the `unsyncedProgress` option. A stream
   * without watchers gets nothing (etcd's progressIfSync sends on its first watcher only).
   */
  requestProgress(): void {
    if (this.closed || this.watchers.size === 0) return;
    if (this.unsyncedProgress === 'defer') {
      this.progressDeferred = true;
      this.tryProgress();
    } else if (this.unsyncedCount === 0 && !this.isFull) {
      this.sendProgress(INVALID_WATCH_ID);
    }
  }

  /**
   * The progress_notify timer (etcd's progressTicker): each watcher that asked for it, is
   * synced, and got no events since the last tick receives an empty response with its id and
   * the current revision. Skipped while the stream is full: the client is behind anyway.
   */
  progressTick(): void {
    if (this.closed) return;
    for (const w of this.progressWatchers) {
      if (w.gotEvents) {
        w.gotEvents = false;
      } else if (w.synced && !this.isFull) {
        this.sendProgress(w.id);
      }
    }
  }

  /**
   * The sink has room again: sends held responses until it pauses again. The server should
   * call {@link WatchHub.syncUnsynced} afterwards so watchers that fell behind catch up.
   */
  resume(): void {
    if (this.closed) return;
    this.paused = false;
    while (!this.paused && this.head < this.queue.length) {
      const item = this.queue[this.head]!;
      this.queue[this.head++] = undefined as never;
      this.queuedBytes -= item.bytes;
      this.paused = !this.sink(item.response);
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    this.tryProgress();
  }

  /** Ends the stream: every watcher is removed, held responses are dropped. Idempotent. */
  close(): void {
    if (this.closed) return;
    for (const w of [...this.watchers.values()]) this.remove(w);
    this.closed = true;
    this.queue.length = 0;
    this.head = 0;
    this.queuedBytes = 0;
    this.hub.forget(this);
  }

  /** @internal Sends `response` now, or holds it while the sink is paused. */
  push(response: WatchResponse): void {
    if (this.closed) return;
    if (!this.paused && this.head === this.queue.length) {
      this.paused = !this.sink(response);
      return;
    }
    const bytes = responseBytes(response);
    this.queue.push({ response, bytes });
    this.queuedBytes += bytes;
  }

  /** @internal Removes `w` from this stream and the hub (cancel, compaction, close). */
  remove(w: Watcher): void {
    this.watchers.delete(w.id);
    this.progressWatchers.delete(w);
    this.hub.detach(w);
  }

  /** @internal Sends a deferred progress response once every watcher is synced. */
  tryProgress(): void {
    if (!this.progressDeferred || this.closed) return;
    if (this.watchers.size === 0) {
      this.progressDeferred = false;
      return;
    }
    if (this.unsyncedCount > 0 || this.isFull) return;
    this.progressDeferred = false;
    this.sendProgress(INVALID_WATCH_ID);
  }

  private sendProgress(watchId: number): void {
    this.push({ watchId, events: [], revision: this.hub.revision });
  }
}

/** etcd's reading of range_end; 'empty' for a range that selects nothing (refused). */
function parseEnd(key: Uint8Array, rangeEnd: Uint8Array | undefined): WatchEnd | 'empty' {
  switch (classifyRange(key, rangeEnd)) {
    case 'single':
      return undefined;
    case 'from-key':
      return 'open';
    case 'range':
      return rangeEnd;
    case 'empty':
      return 'empty';
  }
}

function positive(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${what} must be a positive integer, got ${String(n)}`);
  return n;
}
