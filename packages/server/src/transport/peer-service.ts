/**
 * The `kvfleetraftpb.Peer` gRPC service as both ends see it: method paths (taken from the
 * parsed .proto so they cannot drift), the identity metadata every call carries, buffer
 * conversions for grpc-js, and peer-URL parsing. Server and client register/call the methods
 * with their own (de)serializers because the two sides want different shapes: a sender
 * writes pre-encoded batch bytes, a receiver wants decoded messages.
 */
import * as grpc from '@grpc/grpc-js';
import { raftProtoRoot } from './raft-codec.js';

const service = raftProtoRoot.lookupService('kvfleetraftpb.Peer');
const serviceName = service.fullName.replace(/^\./, '');

function methodPath(name: string): string {
  if (service.methods[name] === undefined) throw new Error(`kvfleet: raft.proto has no Peer.${name}`);
  return `/${serviceName}/${name}`;
}

export const PEER_METHODS = {
  stream: methodPath('Stream'),
  sendSnapshot: methodPath('SendSnapshot'),
  probe: methodPath('Probe'),
} as const;

export const SENDER_ID_KEY = 'kvfleet-sender-id';
/** Trailer naming why a peer refused a call; `member-removed` is etcd's 410 Gone. */
export const REFUSAL_KEY = 'kvfleet-refusal';
const MEMBER_REMOVED = 'member-removed';

/** The refusal of a caller this member knows was removed from the cluster (it applied the removal). */
export function memberRemovedStatus(details: string): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  metadata.set(REFUSAL_KEY, MEMBER_REMOVED);
  return { code: grpc.status.FAILED_PRECONDITION, details, metadata };
}

/** Whether a peer refused this member's call because it was removed from the cluster. */
export function isMemberRemovedRefusal(err: grpc.ServiceError | null | undefined): boolean {
  return err?.code === grpc.status.FAILED_PRECONDITION && err.metadata?.get(REFUSAL_KEY)[0] === MEMBER_REMOVED;
}
export const CLUSTER_ID_KEY = 'kvfleet-cluster-id';

export function identityMetadata(senderId: number, clusterId: number): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(SENDER_ID_KEY, String(senderId));
  md.set(CLUSTER_ID_KEY, String(clusterId));
  return md;
}

export interface CallerIdentity {
  readonly senderId: number;
  readonly clusterId: number;
}

/** The caller's identity, or undefined when a header is missing or not a safe integer. */
export function readIdentity(md: grpc.Metadata): CallerIdentity | undefined {
  const parse = (key: string): number | undefined => {
    const v = md.get(key)[0];
    if (typeof v !== 'string' || !/^\d+$/.test(v)) return undefined;
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : undefined;
  };
  const senderId = parse(SENDER_ID_KEY);
  const clusterId = parse(CLUSTER_ID_KEY);
  return senderId === undefined || clusterId === undefined ? undefined : { senderId, clusterId };
}

/** grpc-js wants Buffers; protobufjs already returns them in Node, so this is usually free. */
export function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** "http://host:port" → "host:port" for grpc-js; only plaintext peer URLs are supported so far. */
export function grpcTarget(url: string): string {
  const u = new URL(url);
  if (u.protocol !== 'http:') throw new Error(`kvfleet: unsupported peer URL ${url} (only http:// for now)`);
  if (u.port === '') throw new Error(`kvfleet: peer URL ${url} needs a port`);
  return u.host; // keeps IPv6 brackets
}
