export { type Clock, type Timer, type TimerOptions, sleep, withTimeout } from './clock.js';
export type { Random } from './random.js';
export type { MemberEnv } from './member-env.js';
export { REAL_CLOCK, REAL_ENV, REAL_RANDOM } from './real-env.js';
