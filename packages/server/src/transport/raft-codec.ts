/**
 * Our Raft records to and from kvfleet/raft.proto's wire form, with protobufjs.
 *
 * The .proto is parsed once, when this module loads. Encoding hands our objects straight to
 * protobufjs (field names match); decoding rebuilds them field by field because protobufjs
 * returns 64-bit integers as Long and bytes as Buffer, while the Raft core wants safe-integer
 * numbers and plain Uint8Arrays.
 */
import protobuf from 'protobufjs';
import {
  EMPTY_BYTES,
  type ConfState,
  type Entry,
  type EntryType,
  type Message,
  MessageType,
  type Snapshot,
} from '../raft/types.js';
import { raftProtoPath } from './proto-file.js';

const root = protobuf.loadSync(raftProtoPath());
const MessageT = root.lookupType('kvfleetraftpb.Message');
const MessageBatchT = root.lookupType('kvfleetraftpb.MessageBatch');
const StreamAckT = root.lookupType('kvfleetraftpb.StreamAck');
const SnapshotChunkT = root.lookupType('kvfleetraftpb.SnapshotChunk');
const SnapshotAckT = root.lookupType('kvfleetraftpb.SnapshotAck');
const ProbeRequestT = root.lookupType('kvfleetraftpb.ProbeRequest');
const ProbeResponseT = root.lookupType('kvfleetraftpb.ProbeResponse');

/** The parsed schema, for the service definition (method paths). */
export const raftProtoRoot: protobuf.Root = root;

/** Wire key of MessageBatch.messages: lets a batch be assembled from already-encoded messages. */
const BATCH_MESSAGES_KEY = (MessageBatchT.fields['messages']!.id << 3) | 2;
/** Worst-case bytes a batch adds around one encoded message: the key and a length varint. */
export const BATCH_FRAMING_BYTES = 6;

// ---- numbers and bytes ----

interface LongLike {
  toNumber(): number;
}
type WireInt = number | LongLike | null | undefined;

function num(v: WireInt, field: string): number {
  if (v === null || v === undefined) return 0;
  const n = typeof v === 'number' ? v : v.toNumber();
  // Our ids, terms and indexes stay below 2^53; anything else is corruption, not data.
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`kvfleet: ${field} out of range: ${String(v)}`);
  return n;
}

/** A plain Uint8Array view of a decoded bytes field (no copy; Buffer subclasses compare unequal). */
function bytes(v: Uint8Array | null | undefined): Uint8Array {
  if (v === null || v === undefined || v.byteLength === 0) return EMPTY_BYTES;
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

// ---- messages ----

interface WireEntry {
  term?: WireInt;
  index?: WireInt;
  type?: number;
  data?: Uint8Array;
}
interface WireConfState {
  voters?: WireInt[];
  learners?: WireInt[];
}
interface WireSnapshot {
  data?: Uint8Array;
  metadata?: { confState?: WireConfState | null; index?: WireInt; term?: WireInt } | null;
}
interface WireMessage {
  type?: number;
  to?: WireInt;
  from?: WireInt;
  term?: WireInt;
  logTerm?: WireInt;
  index?: WireInt;
  entries?: WireEntry[];
  commit?: WireInt;
  snapshot?: WireSnapshot | null;
  reject?: boolean;
  rejectHint?: WireInt;
  context?: Uint8Array;
}

function entryFromWire(w: WireEntry): Entry {
  return {
    term: num(w.term, 'entry.term'),
    index: num(w.index, 'entry.index'),
    type: (w.type ?? 0) as EntryType,
    data: bytes(w.data),
  };
}

function confStateFromWire(w: WireConfState | null | undefined): ConfState {
  return {
    voters: (w?.voters ?? []).map((v) => num(v, 'confState.voters')),
    learners: (w?.learners ?? []).map((v) => num(v, 'confState.learners')),
  };
}

function snapshotFromWire(w: WireSnapshot): Snapshot {
  return {
    data: bytes(w.data),
    metadata: {
      index: num(w.metadata?.index, 'snapshot.index'),
      term: num(w.metadata?.term, 'snapshot.term'),
      confState: confStateFromWire(w.metadata?.confState),
    },
  };
}

function messageFromWire(w: WireMessage): Message {
  const type = w.type ?? 0;
  if (MessageType[type] === undefined) throw new Error(`kvfleet: unknown raft message type ${type}`);
  const entries = w.entries ?? [];
  const m: Message = {
    type: type as MessageType,
    to: num(w.to, 'to'),
    from: num(w.from, 'from'),
    term: num(w.term, 'term'),
    logTerm: num(w.logTerm, 'logTerm'),
    index: num(w.index, 'index'),
    entries: entries.length === 0 ? [] : entries.map(entryFromWire),
    commit: num(w.commit, 'commit'),
    reject: w.reject === true,
    rejectHint: num(w.rejectHint, 'rejectHint'),
    context: bytes(w.context),
  };
  if (w.snapshot !== null && w.snapshot !== undefined) m.snapshot = snapshotFromWire(w.snapshot);
  return m;
}

export function encodeMessage(m: Message): Uint8Array {
  return MessageT.encode(m as unknown as Record<string, unknown>).finish();
}

export function decodeMessage(buf: Uint8Array): Message {
  return messageFromWire(MessageT.decode(buf) as unknown as WireMessage);
}

/** A MessageBatch made of messages already encoded with `encodeMessage`, without re-encoding them. */
export function encodeBatch(encoded: readonly Uint8Array[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const e of encoded) w.uint32(BATCH_MESSAGES_KEY).bytes(e);
  return w.finish();
}

export function decodeBatch(buf: Uint8Array): Message[] {
  const w = MessageBatchT.decode(buf) as unknown as { messages?: WireMessage[] };
  return (w.messages ?? []).map(messageFromWire);
}

// ---- transport records ----

export function encodeStreamAck(received: number): Uint8Array {
  return StreamAckT.encode({ received }).finish();
}

export function decodeStreamAck(buf: Uint8Array): { received: number } {
  const w = StreamAckT.decode(buf) as unknown as { received?: WireInt };
  return { received: num(w.received, 'received') };
}

export type SnapshotChunk =
  | { readonly kind: 'message'; readonly message: Message }
  | { readonly kind: 'data'; readonly data: Uint8Array }
  | { readonly kind: 'trailer'; readonly totalBytes: number };

export function encodeSnapshotChunk(c: SnapshotChunk): Uint8Array {
  switch (c.kind) {
    case 'message':
      return SnapshotChunkT.encode({ message: c.message }).finish();
    case 'data':
      return SnapshotChunkT.encode({ data: c.data }).finish();
    case 'trailer':
      return SnapshotChunkT.encode({ trailer: { totalBytes: c.totalBytes } }).finish();
  }
}

export function decodeSnapshotChunk(buf: Uint8Array): SnapshotChunk {
  const w = SnapshotChunkT.decode(buf) as unknown as {
    part?: string;
    message?: WireMessage;
    data?: Uint8Array;
    trailer?: { totalBytes?: WireInt };
  };
  switch (w.part) {
    case 'message':
      return { kind: 'message', message: messageFromWire(w.message!) };
    case 'data':
      return { kind: 'data', data: bytes(w.data) };
    case 'trailer':
      return { kind: 'trailer', totalBytes: num(w.trailer?.totalBytes, 'totalBytes') };
    default:
      throw new Error('kvfleet: empty snapshot chunk');
  }
}

export function encodeSnapshotAck(receivedBytes: number): Uint8Array {
  return SnapshotAckT.encode({ receivedBytes }).finish();
}

export function decodeSnapshotAck(buf: Uint8Array): { receivedBytes: number } {
  const w = SnapshotAckT.decode(buf) as unknown as { receivedBytes?: WireInt };
  return { receivedBytes: num(w.receivedBytes, 'receivedBytes') };
}

export interface ProbeRecord {
  readonly clusterId: number;
  /** The prober's id in a request, the answering member's id in a response. */
  readonly memberId: number;
}

export function encodeProbeRequest(p: ProbeRecord): Uint8Array {
  return ProbeRequestT.encode({ clusterId: p.clusterId, senderId: p.memberId }).finish();
}

export function decodeProbeRequest(buf: Uint8Array): ProbeRecord {
  const w = ProbeRequestT.decode(buf) as unknown as { clusterId?: WireInt; senderId?: WireInt };
  return { clusterId: num(w.clusterId, 'clusterId'), memberId: num(w.senderId, 'senderId') };
}

export function encodeProbeResponse(p: ProbeRecord): Uint8Array {
  return ProbeResponseT.encode({ clusterId: p.clusterId, memberId: p.memberId }).finish();
}

export function decodeProbeResponse(buf: Uint8Array): ProbeRecord {
  const w = ProbeResponseT.decode(buf) as unknown as { clusterId?: WireInt; memberId?: WireInt };
  return { clusterId: num(w.clusterId, 'clusterId'), memberId: num(w.memberId, 'memberId') };
}
