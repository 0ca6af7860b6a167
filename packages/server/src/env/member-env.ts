/**
 * Everything a member takes from the world, in one object: the real one (real-env.ts) in a
 * process, a simulated one under the simulator.
 */
import type { Backend } from '../backend/backend.js';
import type { OpenBackendOptions } from '../backend/open-backend.js';
import type { Clock } from './clock.js';
import type { FileSystem } from './file-system.js';
import type { PeerDialer, PeerNetwork, PeerNetworkOptions } from './peer-network.js';
import type { Random } from './random.js';

export interface MemberEnv {
  readonly clock: Clock;
  readonly random: Random;
  /** The WAL, snapshot files and the data directory. */
  readonly fs: FileSystem;
  /** The member's backend (`--backend`): LMDB or memory for real, a simulated durable one in the simulator. */
  openBackend(options: OpenBackendOptions): Backend;
  /** The member's network to its peers (Raft messages, snapshots, its peer-port services). */
  network(options: PeerNetworkOptions): PeerNetwork;
  /** Calls to a peer's services: forwarding to the leader, asking for the member list. */
  readonly dial: PeerDialer;
  /** The process around the member. */
  readonly process: MemberProcess;
}

export interface MemberProcess {
  /** The member stopped for good (removed: 0; a fatal error: 1): end the process with `code`. */
  exit(code: number): void;
  /** Dies at once, as a power loss would (the crash failpoints of the robustness suite). */
  crash(): void;
}
