/**
 * Waiting for one's turn (clientv3/concurrency's waitDeletes): until no key under a prefix was
 * created at or before a revision. It reads the newest such key, waits for its deletion through
 * a watch, and reads again. A watch that loses history (compaction, snapshot) just leads to the
 * next read, which is authoritative. Aborting `signal` stops the wait and closes the watch.
 */
import type { ConcurrencyKv } from './concurrency-kv.js';
import { lastCreatedUpTo } from './kv-requests.js';

/** Resolves with the revision of the read that found nothing left to wait for. */
export async function waitDeletes(kv: ConcurrencyKv, prefix: Uint8Array, maxCreateRevision: number, signal: AbortSignal): Promise<number> {
  // A bound of 0 would mean "no bound" to Range; every recipe key is created at revision 2 or later.
  if (!Number.isSafeInteger(maxCreateRevision) || maxCreateRevision < 1) throw new RangeError(`waitDeletes: bad revision ${maxCreateRevision}`);
  for (;;) {
    signal.throwIfAborted();
    const read = await kv.range(lastCreatedUpTo(prefix, maxCreateRevision));
    const newest = read.kvs[0];
    if (newest === undefined) return read.revision;
    await waitDelete(kv, newest.key, read.revision + 1, signal);
  }
}

/** Resolves when `key` is deleted at or after `fromRevision`, or the watch lost track (re-read). */
export function waitDelete(kv: ConcurrencyKv, key: Uint8Array, fromRevision: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let watch: { close(): void } | undefined;
    const finish = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      watch?.close();
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = (): void => finish(signal.reason);
    signal.addEventListener('abort', onAbort);
    watch = kv.watch(
      { key, startRevision: fromRevision },
      {
        events: (_revision, events) => {
          if (events.some((e) => e.type === 'delete')) finish();
          return true;
        },
        lost: () => finish(),
      },
    );
    if (settled) watch.close();
  });
}
