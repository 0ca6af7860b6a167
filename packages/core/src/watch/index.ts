// The watch hub and its streams, shared by members (over the MVCC store) and proxies (over the watch cache).
export { WatchHub, DEFAULT_SYNC_EVENTS } from './watch-hub.js';
export { WatchStream, DEFAULT_MAX_QUEUED_RESPONSES, DEFAULT_MAX_QUEUED_BYTES } from './watch-stream.js';
export {
  type WatchCreateRequest,
  type WatchResponse,
  type WatchSink,
  type WatchStreamOptions,
  INVALID_WATCH_ID,
  ERR_EMPTY_WATCHER_RANGE,
  ERR_WATCHER_DUPLICATE_ID,
  responseBytes,
} from './watch-messages.js';
export { WatcherIndex, type IndexedWatcher, type WatchEnd } from './watcher-index.js';
export { Watcher } from './watcher.js';
export type { WatchHistory } from './watch-history.js';
export { watchService, eventToWire, type WatchServiceOptions } from './serve-watch.js';
