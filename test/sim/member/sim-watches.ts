/**
 * The robustness suite's recorded watches (watchers.ts) on a whole-member simulation: their
 * streams go to the members' own Watch handlers over the simulated network, their timers and
 * receive times are simulated time.
 */
import type { EventQueue } from '../event-queue.js';
import type { WatchCall, WatchIo } from '../../robustness/watchers.js';
import type { SimEvent } from './sim-clock.js';
import type { SimPeers } from './sim-peers.js';

/** Watch I/O for a client with network id `clientId`. */
export function simWatchIo(peers: SimPeers, clientId: number, queue: EventQueue<SimEvent>): WatchIo {
  const timer = (fn: () => void, ms: number, repeat: boolean): { cancel(): void } => {
    let cancelled = false;
    const fire = (): void => {
      if (cancelled) return;
      if (repeat) queue.schedule(ms, fire);
      fn();
    };
    queue.schedule(ms, fire);
    return { cancel: () => void (cancelled = true) };
  };
  return {
    connect: (url) => ({ call: peers.clientOf(clientId, 'Watch', url).Watch() as WatchCall, close: () => {} }),
    now: () => queue.now,
    setTimeout: (fn, ms) => timer(fn, Math.max(1, ms), false),
    setInterval: (fn, ms) => timer(fn, Math.max(1, ms), true),
  };
}
