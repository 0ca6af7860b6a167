/**
 * The robustness suite's recorded watches (watchers.ts) on a whole-member simulation: their
 * streams go to the members' own Watch handlers over the simulated network, their timers and
 * receive times are simulated time.
 */
import type { EventQueue } from '../event-queue.js';
import type { WatchCall, WatchIo } from '../../robustness/watchers.js';
import { SimClock, type SimEvent } from './sim-clock.js';
import type { SimPeers } from './sim-peers.js';

/** Watch I/O for a client with network id `clientId`. */
export function simWatchIo(peers: SimPeers, clientId: number, queue: EventQueue<SimEvent>): WatchIo {
  // The client's own clock: it never crashes, so its timers run until cancelled.
  const clock = new SimClock(queue);
  return {
    connect: (url) => ({ call: peers.clientOf(clientId, 'Watch', url).Watch() as WatchCall, close: () => {} }),
    now: () => clock.monotonic(),
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    setInterval: (fn, ms) => clock.setInterval(fn, ms),
  };
}
