/**
 * Replacing a backend's contents with a snapshot image: `restore` loads only into an empty
 * backend, so the old contents are deleted first, in bounded batches.
 *
 * Not atomic: a crash in between leaves a partly cleared or partly loaded backend. Callers
 * keep the image until this resolves and, on restart, see a consistent index below the
 * snapshot's and load the image again.
 */
import type { Backend, RestoreResult } from './backend.js';
import { clearBuckets } from './clear-buckets.js';

export async function replaceContents(backend: Backend, image: AsyncIterable<Uint8Array>): Promise<RestoreResult> {
  await clearBuckets(backend);
  return backend.restore(image);
}
