/**
 * The real environment: Node's clocks and timers, the operating system's randomness, the real
 * file system, LMDB (or memory) backends, the gRPC peer transport (transport/) and this process.
 */
import { randomInt } from 'node:crypto';
import { proto } from '@kvfleet/core';
import { openBackend } from '../backend/open-backend.js';
import { PeerTransport } from '../transport/peer-transport.js';
import type { Clock, Timer, TimerOptions } from './clock.js';
import type { MemberEnv } from './member-env.js';
import { NODE_FS } from './node-file-system.js';
import type { Random } from './random.js';

function timer(handle: NodeJS.Timeout, options: TimerOptions | undefined, clear: (h: NodeJS.Timeout) => void): Timer {
  if (options?.unref === true) handle.unref();
  return { cancel: () => clear(handle) };
}

export const REAL_CLOCK: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms, options) => timer(setTimeout(fn, ms), options, clearTimeout),
  setInterval: (fn, ms, options) => timer(setInterval(fn, ms), options, clearInterval),
  soon: (fn) => {
    setImmediate(fn);
  },
};

export const REAL_RANDOM: Random = {
  int: (min, max) => randomInt(min, max),
};

export const REAL_ENV: MemberEnv = {
  clock: REAL_CLOCK,
  random: REAL_RANDOM,
  fs: NODE_FS,
  openBackend,
  network: (options) => new PeerTransport(options),
  dial: (service, peerUrl) => proto.createClient(service, new URL(peerUrl).host),
  process: {
    exit: (code) => process.exit(code),
    crash: () => {
      process.kill(process.pid, 'SIGKILL');
    },
  },
};
