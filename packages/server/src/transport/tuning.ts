/**
 * The transport's limits and timings, in one place so they can be read (and tuned) together.
 * Each can be overridden through PeerTransportOptions.
 */
import type * as grpc from '@grpc/grpc-js';

/** Per-peer queue bound by count: etcd's stream buffer is 4096 messages too. */
export const DEFAULT_MAX_QUEUED_MESSAGES = 4096;
/**
 * Per-peer queue bound by bytes (queued plus handed to the stream but not yet on the socket).
 * Raft bounds an append to maxSizePerMsg (~1 MiB) and a few in flight; 64 MiB leaves ample room.
 */
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** One stream write carries at most this many bytes of messages (a larger message goes alone). */
export const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;
/** Largest gRPC message a member accepts: one oversized Raft message must still fit. */
export const MAX_RECEIVE_MESSAGE_BYTES = DEFAULT_MAX_QUEUED_BYTES + 1024 * 1024;
/** Snapshot data is re-chunked to this size on the wire. */
export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

/** Stream reconnect backoff: first pause ~100 ms (etcd redials every 100 ms), at most 2 s. */
export const DEFAULT_RECONNECT_BASE_MS = 100;
export const DEFAULT_RECONNECT_MAX_MS = 2_000;

/** RTT probes: one every 5 s per peer; a probe unanswered for 3 s counts as failed. */
export const DEFAULT_PROBE_INTERVAL_MS = 5_000;
export const DEFAULT_PROBE_TIMEOUT_MS = 3_000;

/** close(): how long outgoing streams get to flush and the server to drain before being cut. */
export const DEFAULT_CLOSE_GRACE_MS = 2_000;

/**
 * Client channel options. grpc-js's own reconnect backoff (default up to 120 s) would keep a
 * restarted peer unreachable long after our stream backoff retries, so it gets the same cap.
 * Keepalive pings find a peer that vanished without closing its connection (a partition).
 */
export function clientChannelOptions(reconnectBaseMs: number, reconnectMaxMs: number): grpc.ChannelOptions {
  return {
    'grpc.initial_reconnect_backoff_ms': reconnectBaseMs,
    'grpc.max_reconnect_backoff_ms': reconnectMaxMs,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_RECEIVE_MESSAGE_BYTES,
  };
}

export function serverChannelOptions(): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_RECEIVE_MESSAGE_BYTES,
  };
}
