/**
 * Encode once per fan-out: every watcher a revision's events go to gets the same header and
 * events, so their bytes are encoded once and only the watch id (field 2 of WatchResponse) is
 * encoded per watcher. Protobuf fields may come in any order, so `watch_id` followed by the
 * shared `header` and `events` fields decodes as the one message.
 *
 * A small cache of recent encodings, keyed by the first event's KeyValue object (the hub hands
 * every watcher the same event objects, see Watcher.shape): a notify sends all watchers of a
 * revision before the next one, so a handful of entries is enough, and memory stays bounded.
 */
import type { KvEvent } from '../kv/kv-event.js';

const CAPACITY = 64;

interface Entry {
  readonly revision: number;
  readonly events: readonly KvEvent[];
  readonly bytes: Buffer;
}

export class SharedEventEncoding {
  private readonly recent = new Map<object, Entry>();

  constructor(private readonly encodeBody: (revision: number, events: readonly KvEvent[]) => Buffer) {}

  /** The encoded `{ header, events }` of a response at `revision` carrying `events`. */
  body(revision: number, events: readonly KvEvent[]): Buffer {
    const key = events[0]!.kv;
    const hit = this.recent.get(key);
    if (hit !== undefined && hit.revision === revision && sameEvents(hit.events, events)) return hit.bytes;
    const bytes = this.encodeBody(revision, events);
    this.recent.delete(key);
    this.recent.set(key, { revision, events, bytes });
    if (this.recent.size > CAPACITY) this.recent.delete(this.recent.keys().next().value!);
    return bytes;
  }
}

function sameEvents(a: readonly KvEvent[], b: readonly KvEvent[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.type !== y.type || x.kv !== y.kv || x.prevKv !== y.prevKv) return false;
  }
  return true;
}

/** `watch_id` (field 2, varint) as bytes to put in front of a shared body; nothing for id 0 (the default). */
export function watchIdField(watchId: number): Buffer {
  if (watchId === 0) return EMPTY;
  const out = [0x10];
  // Watch ids are non-negative and below 2^53: 7 bits at a time, as protobuf varints are written.
  let v = watchId;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

const EMPTY = Buffer.alloc(0);
