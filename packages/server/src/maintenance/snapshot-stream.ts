/**
 * The Maintenance.Snapshot stream: the backend image (backend/snapshot-format.ts) in blobs,
 * each with the bytes still to come in `remaining_bytes`, then one last message whose blob is
 * the SHA-256 of everything sent before it, as etcd sends it. Clients (etcdctl snapshot save)
 * concatenate the blobs; etcdctl 3.4 then insists that the file's size be 32 more than a
 * multiple of 512 (true of any bolt file plus its hash). So the image is padded to a multiple
 * of 512: zeros, then the padding's own length as a u32 LE (4..515 bytes in all). The saved
 * file is image ‖ padding ‖ sha256(image ‖ padding), which `kvfleet snapshot restore` checks.
 *
 * The image is encoded twice from one read view: once to learn its size (etcd knows its bolt
 * file's size up front), once to send it. The view pins a consistent state meanwhile, so both
 * passes produce the same bytes; memory stays bounded by one chunk.
 */
import { createHash } from 'node:crypto';
import type { Backend, ReadView } from '../backend/backend.js';
import { encodeSnapshot } from '../backend/snapshot-format.js';

/** etcd sends 32 KiB blobs. */
export const SNAPSHOT_BLOB_BYTES = 32 * 1024;
export const SHA256_BYTES = 32;
/** etcdctl's test for a trailing hash: size % 512 === 32. */
const ALIGN = 512;
const PAD_LENGTH_BYTES = 4;

/** The padding after an image of `imageBytes` bytes (see above). */
export function snapshotPadding(imageBytes: number): Uint8Array {
  const length = ((ALIGN - ((imageBytes + PAD_LENGTH_BYTES) % ALIGN)) % ALIGN) + PAD_LENGTH_BYTES;
  const pad = new Uint8Array(length);
  new DataView(pad.buffer).setUint32(length - PAD_LENGTH_BYTES, length, true);
  return pad;
}

/**
 * The image's length in `content` (a snapshot file without its hash) given its last bytes,
 * or undefined if it does not end with a well-formed padding (a bare image).
 */
export function unpaddedLength(contentBytes: number, tail: Uint8Array): number | undefined {
  if (contentBytes % ALIGN !== 0 || tail.length < PAD_LENGTH_BYTES) return undefined;
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  const length = view.getUint32(tail.length - PAD_LENGTH_BYTES, true);
  if (length < PAD_LENGTH_BYTES || length > ALIGN + PAD_LENGTH_BYTES - 1 || length > tail.length || length > contentBytes) return undefined;
  for (let i = tail.length - length; i < tail.length - PAD_LENGTH_BYTES; i++) if (tail[i] !== 0) return undefined;
  return contentBytes - length;
}

export interface SnapshotMessage {
  readonly remainingBytes: number;
  readonly blob: Uint8Array;
}

/** A view whose release is left to the owner, so several encodings can share it. */
function borrowed(view: ReadView): ReadView {
  return {
    get: (bucket, key) => view.get(bucket, key),
    range: (bucket, options) => view.range(bucket, options),
    buckets: () => view.buckets(),
    release: () => undefined,
  };
}

/** The snapshot messages of `backend`, consistent as of the call. Close it (return/break) to release the view early. */
export async function* snapshotMessages(backend: Backend): AsyncGenerator<SnapshotMessage> {
  const view = backend.readTxn();
  try {
    let imageBytes = 0;
    for await (const chunk of encodeSnapshot(borrowed(view))) imageBytes += chunk.length;
    const padding = snapshotPadding(imageBytes);
    const size = imageBytes + padding.length;
    const sha = createHash('sha256');
    let sent = 0;
    for await (const chunk of withTail(encodeSnapshot(borrowed(view)), padding)) {
      for (let at = 0; at < chunk.length; at += SNAPSHOT_BLOB_BYTES) {
        const blob = chunk.subarray(at, Math.min(chunk.length, at + SNAPSHOT_BLOB_BYTES));
        sha.update(blob);
        sent += blob.length;
        yield { remainingBytes: size - sent, blob };
      }
    }
    yield { remainingBytes: 0, blob: new Uint8Array(sha.digest()) };
  } finally {
    view.release();
  }
}

async function* withTail(chunks: AsyncIterable<Uint8Array>, tail: Uint8Array): AsyncGenerator<Uint8Array> {
  yield* chunks;
  yield tail;
}
