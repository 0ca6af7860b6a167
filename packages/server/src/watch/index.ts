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
