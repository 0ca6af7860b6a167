import { MemoryBackend } from '../../src/backend/memory-backend.js';
import { KvStore } from '../../src/mvcc/kv-store.js';
import { type KvWriteTxn } from '../../src/mvcc/kv-write-txn.js';
import { WatchHub } from '@kvfleet/core';

export { k, str } from '../mvcc/helpers.js';

/** A store on the memory backend with a hub, and a writer that notifies like the server. */
export async function setup(): Promise<{
  store: KvStore;
  hub: WatchHub;
  write: (fn: (t: KvWriteTxn) => void) => Promise<number>;
}> {
  const store = await KvStore.open(MemoryBackend.open());
  const hub = new WatchHub(store);
  const write = async (fn: (t: KvWriteTxn) => void): Promise<number> => {
    const w = await store.write({ consistentIndex: store.consistentIndex.consistentIndex + 1, consistentTerm: 1 }, fn);
    if (w.events.length > 0) hub.notify(w.revision, w.events);
    return w.revision;
  };
  return { store, hub, write };
}

// The recording client is core's, shared by the hub's tests there and here.
export { type Client, client } from '../../../core/test/watch/watch-client.js';
