/**
 * Everything a member takes from the world, in one object: the real one (real-env.ts) in a
 * process, a simulated one under the simulator.
 */
import type { Clock } from './clock.js';
import type { FileSystem } from './file-system.js';
import type { Random } from './random.js';

export interface MemberEnv {
  readonly clock: Clock;
  readonly random: Random;
  /** The WAL, snapshot files and the data directory. */
  readonly fs: FileSystem;
}
