/**
 * Replacing a backend's contents with a snapshot image: `restore` loads only into an empty
 * backend, so the old contents are deleted first, in bounded batches.
 *
 * Not atomic: a crash in between leaves a partly cleared or partly loaded backend. Callers
 * keep the image until this resolves and, on restart, see a consistent index below the
 * snapshot's and load the image again.
 */
import type { Backend, RestoreResult } from './backend.js';

const CLEAR_BATCH = 10_000;

export async function replaceContents(backend: Backend, image: AsyncIterable<Uint8Array>): Promise<RestoreResult> {
  for (;;) {
    const view = backend.readTxn();
    let pending: { bucket: string; keys: Uint8Array[] }[];
    try {
      pending = view.buckets().map((bucket) => ({ bucket, keys: view.range(bucket, { limit: CLEAR_BATCH }).map((kv) => kv.key) }));
    } finally {
      view.release();
    }
    if (pending.length === 0) break;
    await backend.batch((b) => {
      for (const { bucket, keys } of pending) for (const key of keys) b.delete(bucket, key);
    });
  }
  return backend.restore(image);
}
