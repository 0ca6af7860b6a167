/** Emptying buckets of a backend in bounded batches, so no single transaction grows with the store. */
import type { Backend } from './backend.js';

/** Keys deleted per batch. */
const CLEAR_BATCH = 1000;

/** Deletes every key of `buckets` (every bucket when omitted), a batch at a time. */
export async function clearBuckets(backend: Backend, buckets?: readonly string[]): Promise<void> {
  for (;;) {
    const view = backend.readTxn();
    let pending: { bucket: string; keys: Uint8Array[] }[];
    try {
      pending = (buckets ?? view.buckets())
        .map((bucket) => ({ bucket, keys: view.range(bucket, { limit: CLEAR_BATCH }).map((kv) => kv.key) }))
        .filter((p) => p.keys.length > 0);
    } finally {
      view.release();
    }
    if (pending.length === 0) return;
    await backend.batch((b) => {
      for (const { bucket, keys } of pending) for (const key of keys) b.delete(bucket, key);
    });
  }
}
