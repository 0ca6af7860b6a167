/**
 * etcd's Watch service over a watch hub: one bidirectional stream carries many watches.
 * Requests go to a {@link WatchStream} of the hub; its responses are written to the gRPC
 * stream, and when the socket's buffer is full the hub holds them (bounded) until the stream
 * drains. Members serve it over their MVCC store, proxies over their watch cache.
 */
import type * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { ETCD_ERRORS } from '../etcd-errors.js';
import type { KvEvent } from '../kv/kv-event.js';
import { int64ToNumber } from '../proto/int64.js';
import type { Event, KeyValue, ResponseHeader } from '../proto/kv.js';
import type { ServiceHandlers } from '../proto/service-definitions.js';
import type { WatchRequest, WatchResponse as WireWatchResponse } from '../proto/watch.js';
import type { WatchHub } from './watch-hub.js';
import { SharedEventEncoding, watchIdField } from './shared-encoding.js';
import { encodeMessage } from '../proto/loader.js';
import type { WatchResponse } from './watch-messages.js';
import type { WatchStream } from './watch-stream.js';

const FILTER_NOPUT = 0;
const FILTER_NODELETE = 1;

export interface WatchServiceOptions {
  /** Read when each stream opens (a member's hub is replaced when it installs a snapshot). */
  readonly hub: WatchHub;
  /** The response header for a revision (cluster and member ids, term). */
  header(revision: number): ResponseHeader;
  /** Responses of watches that asked for fragments are split near this size. */
  readonly maxRequestBytes: number;
  /**
   * Collects a closer per live stream, so shutting down ends them at once (clients see etcd's
   * "server stopped" and move elsewhere) instead of waiting for them.
   */
  readonly openStreams: Set<() => void>;
  /**
   * Called once per stream with a function that ends it; returns an unsubscribe. For state
   * replaced underneath the hub (a member restored from a snapshot, a proxy that re-listed).
   */
  onStateReplaced?(end: (error: Partial<grpc.StatusObject>) => void): () => void;
}

export function watchService(options: WatchServiceOptions): ServiceHandlers<'Watch'> {
  // One per service, so every stream's watchers share the encoding of a revision's events.
  const shared = new SharedEventEncoding((revision, events) =>
    bufferOf(encodeMessage('etcdserverpb.WatchResponse', { header: options.header(revision), events: events.map(eventToWire) })),
  );
  return { Watch: (call) => serveWatch(options, shared, call) };
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

type WatchCall = grpc.ServerDuplexStream<WatchRequest, WireWatchResponse>;

function serveWatch(options: WatchServiceOptions, shared: SharedEventEncoding, call: WatchCall): void {
  const { hub, openStreams } = options;
  /** Watches that asked for fragmentation: their big responses are split. */
  const fragmenting = new Set<number>();
  let ended = false;

  const write = (r: WatchResponse): boolean => {
    const plainEvents = r.events.length > 0 && r.created !== true && r.canceled !== true && r.cancelReason === undefined && r.compactRevision === undefined;
    if (plainEvents && (!fragmenting.has(r.watchId) || r.events.length <= 1)) {
      // The service's serializer passes encoded bytes through (proto/service-definitions.ts).
      return call.write(Buffer.concat([watchIdField(r.watchId), shared.body(r.revision, r.events)]) as unknown as WireWatchResponse);
    }
    const base: WireWatchResponse = { header: options.header(r.revision), watchId: r.watchId };
    if (r.created === true) base.created = true;
    if (r.canceled === true) base.canceled = true;
    if (r.cancelReason !== undefined) base.cancelReason = r.cancelReason;
    if (r.compactRevision !== undefined) base.compactRevision = r.compactRevision;
    const events = r.events.map(eventToWire);
    if (!fragmenting.has(r.watchId) || events.length <= 1) return call.write({ ...base, events });
    let ok = true;
    const chunks = fragment(events, options.maxRequestBytes);
    chunks.forEach((chunk, i) => {
      ok = call.write({ ...base, events: chunk, fragment: i < chunks.length - 1 });
    });
    return ok;
  };

  let stream: WatchStream | undefined = hub.openStream(write);
  const unsubscribe = options.onStateReplaced?.((error) => end(error)) ?? (() => undefined);

  const stop = (): void => end({ code: status.UNAVAILABLE, details: ETCD_ERRORS.ErrGRPCStopped.message });
  openStreams.add(stop);
  const end = (error?: Partial<grpc.StatusObject>): void => {
    if (ended) return;
    ended = true;
    openStreams.delete(stop);
    unsubscribe();
    stream?.close();
    stream = undefined;
    // grpc-js sends an 'error' event's code and details as the call's status.
    if (error !== undefined) call.emit('error', Object.assign(new Error(error.details), error));
    else call.end();
  };

  call.on('drain', () => stream?.resume());
  call.on('data', (req: WatchRequest) => {
    if (stream === undefined) return;
    try {
      if (req.createRequest) {
        const c = req.createRequest;
        const watchId = int64ToNumber(c.watchId, 'watch_id');
        const filters = c.filters ?? [];
        const created = stream.create({
          key: c.key,
          rangeEnd: c.rangeEnd,
          startRevision: int64ToNumber(c.startRevision, 'start_revision'),
          watchId,
          prevKv: c.prevKv === true,
          noPut: filters.includes(FILTER_NOPUT),
          noDelete: filters.includes(FILTER_NODELETE),
          progressNotify: c.progressNotify === true,
        });
        if (c.fragment === true && created.canceled !== true) fragmenting.add(created.watchId);
        hub.syncUnsynced();
      } else if (req.cancelRequest) {
        const id = int64ToNumber(req.cancelRequest.watchId, 'watch_id');
        fragmenting.delete(id);
        stream.cancel(id);
      } else if (req.progressRequest) {
        stream.requestProgress();
      }
    } catch (e) {
      end({ code: status.INVALID_ARGUMENT, details: e instanceof Error ? e.message : String(e) });
    }
  });
  // A client that half-closes keeps its watches, as in etcd: the stream ends when the call does.
  call.on('error', () => end());
  call.on('cancelled', () => end());
}

/** Splits events into chunks of roughly at most `limitBytes`, keeping at least one event per chunk. */
function fragment(events: Event[], limitBytes: number): Event[][] {
  const chunks: Event[][] = [];
  let current: Event[] = [];
  let size = 0;
  for (const e of events) {
    const bytes = eventBytes(e);
    if (current.length > 0 && size + bytes > limitBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(e);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function eventBytes(e: Event): number {
  const kvBytes = (kv: KeyValue | null | undefined): number => (kv ? 40 + (kv.key?.length ?? 0) + (kv.value?.length ?? 0) : 0);
  return kvBytes(e.kv) + kvBytes(e.prevKv);
}

/** A change as etcd sends it: a delete carries only the key and the deleting revision. */
export function eventToWire(e: KvEvent): Event {
  const kv: KeyValue = e.type === 'put' ? e.kv : { key: e.kv.key, modRevision: e.kv.modRevision };
  const out: Event = { type: e.type === 'put' ? 0 : 1, kv };
  if (e.prevKv !== undefined) out.prevKv = e.prevKv;
  return out;
}
