/**
 * What both backends compute the same way on top of a ReadView: the contents hash and the
 * snapshot stream. Keeping one implementation here is what makes hashes and snapshots of a
 * memory backend and an LMDB backend interchangeable.
 *
 * Snapshot stream format (all integers little-endian):
 *
 *     header   "KVFSNAP1"                      8 bytes: magic and format version
 *     entry    0x01 u16 nameLen name u32 keyLen key u32 valueLen value   (repeated)
 *     trailer  0xFF u64 entryCount u32 crc32
 *
 * Entries are in hash order (bucket name bytes, then key bytes), strictly ascending. The
 * trailer's CRC-32 covers every byte before it, header and trailer tag and count included.
 * Nothing may follow the trailer.
 */
import { compareBytes, crc32 } from '@kvfleet/core';
import {
  MAX_BUCKET_NAME_BYTES,
  MAX_KEY_BYTES,
  type KeyValue,
  type ReadView,
} from './backend.js';
import { BackendError } from './errors.js';

const MAGIC = Buffer.from('KVFSNAP1', 'latin1');
const TAG_ENTRY = 0x01;
const TAG_TRAILER = 0xff;
const TRAILER_BYTES = 1 + 8 + 4;
/** Pairs read from the view per range call while scanning; bounds memory per step. */
const SCAN_PAGE = 1024;
/** A snapshot chunk is emitted once it holds at least this many bytes. */
const CHUNK_BYTES = 256 * 1024;

const utf8 = new TextEncoder();

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** One pair with its bucket, as scanned or decoded. */
export interface BucketEntry extends KeyValue {
  readonly bucket: string;
}

/** Every pair of the view in hash order, read a page at a time. */
export function* scanView(view: ReadView): Generator<BucketEntry> {
  for (const bucket of view.buckets()) {
    let gte: Uint8Array | undefined;
    for (;;) {
      const page = view.range(bucket, { gte, limit: SCAN_PAGE });
      for (const kv of page) yield { bucket, key: kv.key, value: kv.value };
      if (page.length < SCAN_PAGE) break;
      // The smallest key after the last one seen: the last key with a 0x00 byte appended.
      const last = page[page.length - 1]!.key;
      gte = Buffer.concat([last, ZERO]);
    }
  }
}
const ZERO = new Uint8Array(1);

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(n, 0);
  return b;
}

/** Backend.hash for any backend: the hash of one consistent read view of it. */
export function hashBackend(backend: { readTxn(): ReadView }): number {
  const view = backend.readTxn();
  try {
    return hashView(view);
  } finally {
    view.release();
  }
}

/** The contents hash of a view (see Backend.hash): CRC-32 over length-prefixed name, key, value of each pair. */
export function hashView(view: ReadView): number {
  let crc = 0;
  let name = '';
  let nameFrame: Buffer = Buffer.alloc(0);
  for (const e of scanView(view)) {
    if (e.bucket !== name || nameFrame.length === 0) {
      name = e.bucket;
      const bytes = utf8.encode(name);
      nameFrame = Buffer.concat([u32(bytes.length), bytes]);
    }
    crc = crc32(nameFrame, crc);
    crc = crc32(u32(e.key.length), crc);
    crc = crc32(e.key, crc);
    crc = crc32(u32(e.value.length), crc);
    crc = crc32(e.value, crc);
  }
  return crc;
}

/**
 * The snapshot stream of a view (see Backend.snapshot). Takes ownership of `view` and
 * releases it when the stream ends, fails, or is closed with `return()`, even if it was
 * never started (an unstarted async generator would skip its `finally`).
 */
export function encodeSnapshot(view: ReadView): AsyncIterableIterator<Uint8Array> {
  const chunks = snapshotChunks(view);
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    chunks.return(undefined);
    view.release();
  };
  const iterator: AsyncIterableIterator<Uint8Array> = {
    // Async so that a consumer awaiting each chunk lets other work run between chunks.
    async next() {
      if (finished) return { done: true, value: undefined };
      try {
        const r = chunks.next();
        if (r.done) finish();
        return r;
      } catch (e) {
        finish();
        throw e;
      }
    },
    async return() {
      finish();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

function* snapshotChunks(view: ReadView): Generator<Uint8Array, undefined> {
  let crc = 0;
  let count = 0n;
  let parts: Buffer[] = [MAGIC];
  let size = MAGIC.length;
  const flush = (): Buffer => {
    const chunk = Buffer.concat(parts, size);
    crc = crc32(chunk, crc);
    parts = [];
    size = 0;
    return chunk;
  };
  let name = '';
  let nameBytes: Uint8Array = new Uint8Array(0);
  for (const e of scanView(view)) {
    if (e.bucket !== name || nameBytes.length === 0) {
      name = e.bucket;
      nameBytes = utf8.encode(name);
    }
    const head = Buffer.allocUnsafe(1 + 2 + nameBytes.length + 4);
    head[0] = TAG_ENTRY;
    head.writeUInt16LE(nameBytes.length, 1);
    head.set(nameBytes, 3);
    head.writeUInt32LE(e.key.length, 3 + nameBytes.length);
    parts.push(head, Buffer.from(e.key.buffer, e.key.byteOffset, e.key.length), u32(e.value.length));
    parts.push(Buffer.from(e.value.buffer, e.value.byteOffset, e.value.length));
    size += head.length + e.key.length + 4 + e.value.length;
    count++;
    if (size >= CHUNK_BYTES) yield flush();
  }
  const trailer = Buffer.allocUnsafe(TRAILER_BYTES);
  trailer[0] = TAG_TRAILER;
  trailer.writeBigUInt64LE(count, 1);
  parts.push(trailer.subarray(0, 9));
  size += 9;
  const body = flush();
  trailer.writeUInt32LE(crc, 9);
  yield Buffer.concat([body, trailer.subarray(9)]);
  return undefined;
}

function corrupt(reason: string): BackendError {
  return new BackendError('ErrBackendSnapshotCorrupt', reason);
}

/**
 * Parses a snapshot stream, yielding its entries a chunk's worth at a time. Throws
 * ErrBackendSnapshotCorrupt on a bad header, record, order, count or CRC, on a missing
 * trailer, or on bytes after it. Only a generator that returns normally has seen a
 * verified stream: callers must treat yielded entries as provisional until then.
 */
export async function* decodeSnapshot(
  stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<BucketEntry[], number> {
  let pending: Buffer = Buffer.alloc(0);
  let crc = 0;
  let headerSeen = false;
  let trailerSeen = false;
  let count = 0n;
  let prev: { nameBytes: Buffer; key: Buffer } | undefined;

  for await (const chunk of stream) {
    if (!(chunk instanceof Uint8Array)) throw corrupt('stream chunk is not a Uint8Array');
    if (chunk.length === 0) continue;
    if (trailerSeen) throw corrupt('bytes after the trailer');
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    let pos = 0;
    const batch: BucketEntry[] = [];

    if (!headerSeen) {
      if (pending.length < MAGIC.length) continue;
      if (!pending.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt('bad magic or version');
      headerSeen = true;
      pos = MAGIC.length;
    }

    while (pos < pending.length) {
      const tag = pending[pos]!;
      if (tag === TAG_TRAILER) {
        if (pending.length - pos < TRAILER_BYTES) break;
        const declared = pending.readBigUInt64LE(pos + 1);
        const stored = pending.readUInt32LE(pos + 9);
        crc = crc32(pending.subarray(0, pos + 9), crc);
        if (stored !== crc) throw corrupt(`CRC mismatch (stored ${stored}, computed ${crc})`);
        if (declared !== count) throw corrupt(`trailer counts ${declared} entries, stream has ${count}`);
        if (pos + TRAILER_BYTES !== pending.length) throw corrupt('bytes after the trailer');
        trailerSeen = true;
        pos = pending.length;
        pending = Buffer.alloc(0);
        break;
      }
      if (tag !== TAG_ENTRY) throw corrupt(`unknown record tag ${tag}`);
      if (pending.length - pos < 3) break;
      const nameLen = pending.readUInt16LE(pos + 1);
      // Lengths are checked before waiting for more bytes, so a damaged one cannot make us buffer gigabytes.
      if (nameLen === 0 || nameLen > MAX_BUCKET_NAME_BYTES) throw corrupt(`bucket name length ${nameLen}`);
      const keyAt = pos + 3 + nameLen + 4;
      if (pending.length < keyAt) break;
      const keyLen = pending.readUInt32LE(keyAt - 4);
      if (keyLen === 0 || keyLen > MAX_KEY_BYTES) throw corrupt(`key length ${keyLen}`);
      const valueAt = keyAt + keyLen + 4;
      if (pending.length < valueAt) break;
      const valueLen = pending.readUInt32LE(valueAt - 4);
      const end = valueAt + valueLen;
      if (pending.length < end) break;

      const nameBytes = pending.subarray(pos + 3, pos + 3 + nameLen);
      const key = pending.subarray(keyAt, keyAt + keyLen);
      if (nameBytes.includes(0)) throw corrupt('bucket name contains NUL');
      if (prev !== undefined) {
        const byName = compareBytes(prev.nameBytes, nameBytes);
        if (byName > 0 || (byName === 0 && compareBytes(prev.key, key) >= 0)) {
          throw corrupt('entries not in ascending order');
        }
      }
      let bucket: string;
      try {
        bucket = utf8Decoder.decode(nameBytes);
      } catch (e) {
        throw new BackendError('ErrBackendSnapshotCorrupt', 'bucket name is not UTF-8', { cause: e });
      }
      // Copies: `pending` is reused and callers keep the entries.
      const entry = { bucket, key: new Uint8Array(key), value: new Uint8Array(pending.subarray(valueAt, end)) };
      batch.push(entry);
      prev = { nameBytes: Buffer.from(nameBytes), key: Buffer.from(entry.key) };
      count++;
      pos = end;
    }

    if (!trailerSeen && pos > 0) {
      crc = crc32(pending.subarray(0, pos), crc);
      pending = pending.subarray(pos);
    }
    if (batch.length > 0) yield batch;
  }
  if (!headerSeen) throw corrupt('stream is empty or shorter than its header');
  if (!trailerSeen) throw corrupt('stream ends without a trailer');
  return Number(count);
}
