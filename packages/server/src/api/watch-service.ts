/**
 * etcd's Watch service: one bidirectional stream carries many watches. Requests go to a
 * {@link WatchStream} of the member's hub; its responses are written to the gRPC stream, and
 * when the socket's buffer is full the hub holds them (bounded) until the stream drains.
 */
import type * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { ETCD_ERRORS, proto } from '@kvfleet/core';
import type { EtcdServer } from '../etcdserver/etcd-server.js';
import type { WatchResponse } from '../watch/watch-messages.js';
import type { WatchStream } from '../watch/watch-stream.js';
import { eventToWire } from './wire.js';

const FILTER_NOPUT = 0;
const FILTER_NODELETE = 1;

/**
 * `openStreams` collects a closer per live stream, so shutting down ends them at once (clients
 * see etcd's "server stopped" and move to another member) instead of waiting for them.
 */
export function watchService(server: EtcdServer, openStreams: Set<() => void>): proto.ServiceHandlers<'Watch'> {
  return { Watch: (call) => serveWatch(server, call, openStreams) };
}

type WatchCall = grpc.ServerDuplexStream<proto.WatchRequest, proto.WatchResponse>;

function serveWatch(server: EtcdServer, call: WatchCall, openStreams: Set<() => void>): void {
  /** Watches that asked for fragmentation: their big responses are split. */
  const fragmenting = new Set<number>();
  let ended = false;

  const write = (r: WatchResponse): boolean => {
    const base: proto.WatchResponse = { header: server.header(r.revision), watchId: r.watchId };
    if (r.created === true) base.created = true;
    if (r.canceled === true) base.canceled = true;
    if (r.cancelReason !== undefined) base.cancelReason = r.cancelReason;
    if (r.compactRevision !== undefined) base.compactRevision = r.compactRevision;
    const events = r.events.map(eventToWire);
    if (!fragmenting.has(r.watchId) || events.length <= 1) return call.write({ ...base, events });
    let ok = true;
    const chunks = fragment(events, server.config.maxRequestBytes);
    chunks.forEach((chunk, i) => {
      ok = call.write({ ...base, events: chunk, fragment: i < chunks.length - 1 });
    });
    return ok;
  };

  let stream: WatchStream | undefined = server.hub.openStream(write);
  const unsubscribe = server.onStateReplaced(() => {
    // The store was replaced by a snapshot from the leader; clients resume from their last revision.
    end({ code: status.UNAVAILABLE, details: 'etcdserver: member restored from a snapshot, retry the watch' });
  });

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
  call.on('data', (req: proto.WatchRequest) => {
    if (stream === undefined) return;
    try {
      if (req.createRequest) {
        const c = req.createRequest;
        const watchId = proto.int64ToNumber(c.watchId, 'watch_id');
        const filters = c.filters ?? [];
        const created = stream.create({
          key: c.key,
          rangeEnd: c.rangeEnd,
          startRevision: proto.int64ToNumber(c.startRevision, 'start_revision'),
          watchId,
          prevKv: c.prevKv === true,
          noPut: filters.includes(FILTER_NOPUT),
          noDelete: filters.includes(FILTER_NODELETE),
          progressNotify: c.progressNotify === true,
        });
        if (c.fragment === true && created.canceled !== true) fragmenting.add(created.watchId);
        server.hub.syncUnsynced();
      } else if (req.cancelRequest) {
        const id = proto.int64ToNumber(req.cancelRequest.watchId, 'watch_id');
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
function fragment(events: proto.Event[], limitBytes: number): proto.Event[][] {
  const chunks: proto.Event[][] = [];
  let current: proto.Event[] = [];
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

function eventBytes(e: proto.Event): number {
  const kvBytes = (kv: proto.KeyValue | null | undefined): number => (kv ? 40 + (kv.key?.length ?? 0) + (kv.value?.length ?? 0) : 0);
  return kvBytes(e.kv) + kvBytes(e.prevKv);
}
