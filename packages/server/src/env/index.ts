export { type Clock, type Timer, type TimerOptions, sleep, withTimeout } from './clock.js';
export type { Random } from './random.js';
export type { MemberEnv, MemberProcess } from './member-env.js';
export type { PeerDialer, PeerNetwork, PeerNetworkOptions, PeerServiceName } from './peer-network.js';
export { REAL_CLOCK, REAL_ENV, REAL_RANDOM } from './real-env.js';
export { type FileHandle, type FileSystem, type OpenMode, isNotFound, readChunks, writeChunks } from './file-system.js';
export { NODE_FS } from './node-file-system.js';
