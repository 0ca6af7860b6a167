/** A recording watch client for hub tests (core's, and the server's over its MVCC store). */
import type { WatchHub } from '../../src/watch/watch-hub.js';
import type { WatchResponse, WatchStreamOptions } from '../../src/watch/watch-messages.js';
import type { WatchStream } from '../../src/watch/watch-stream.js';

/** A stream on a hub and what it received; `accept` decides what the sink returns (false = buffer full). */
export interface Client {
  readonly stream: WatchStream;
  readonly got: WatchResponse[];
  accept: boolean;
}

export function client(hub: WatchHub, options: WatchStreamOptions = {}): Client {
  const c = { got: [] as WatchResponse[], accept: true } as { stream: WatchStream; got: WatchResponse[]; accept: boolean };
  c.stream = hub.openStream((r) => {
    c.got.push(r);
    return c.accept;
  }, options);
  return c;
}
