/**
 * One simulated member's world: its MemberEnv built from the simulated clock, disk, backend and
 * network, and what a crash does to it (every part of the process dies; the disk keeps what was
 * durable). The real EtcdServer runs on it unchanged.
 */
import { SeededRandom } from '@kvfleet/core';
import { type env, etcdserver } from '@kvfleet/server';
import type { EventQueue } from '../event-queue.js';
import { SimDisk } from './sim-backend.js';
import { SimClock, type SimEvent } from './sim-clock.js';
import { SimFileSystem } from './sim-fs.js';
import type { SimPeers } from './sim-peers.js';

export interface SimMemberOptions {
  readonly seed: number;
  /** On a crash, how many bytes of a file's first unsynced write survive (a torn write); none by default. */
  readonly tear?: (unsyncedBytes: number) => number;
  /** Simulated commit delay of the backend, in ms. */
  readonly diskDelay: () => number;
}

export class SimMember {
  readonly fs: SimFileSystem;
  readonly disk: SimDisk;
  clock: SimClock;
  /** Set when the member ended its own process (removed: 0, fatal: 1). */
  exitCode: number | undefined;
  /** The member id, known once the member's bootstrap opens its network. */
  memberId = 0;
  private readonly random: SeededRandom;
  private incarnation = 0;

  constructor(
    private readonly queue: EventQueue<SimEvent>,
    private readonly peers: SimPeers,
    readonly options: SimMemberOptions,
  ) {
    this.clock = new SimClock(queue);
    this.fs = new SimFileSystem(options.tear === undefined ? {} : { tear: options.tear });
    this.disk = new SimDisk(this.clock, options.diskDelay);
    this.random = new SeededRandom(options.seed);
  }

  /** The environment of the next incarnation of the process. */
  env(): env.MemberEnv {
    this.incarnation++;
    this.clock = new SimClock(this.queue);
    const clock = this.clock;
    const random = this.random;
    return {
      clock,
      random: { int: (min, max) => min + random.int(max - min) },
      fs: this.fs,
      openBackend: () => this.disk.open(),
      network: (o) => {
        this.memberId = o.localId;
        return this.peers.network(o);
      },
      dial: (service, peerUrl) => this.peers.dialer(this.memberId)(service, peerUrl),
      process: {
        exit: (code) => {
          this.exitCode = code;
          this.crash();
        },
        crash: () => this.crash(),
      },
    };
  }

  /** Starts an incarnation of the member on its simulated world. */
  start(config: etcdserver.MemberConfig): Promise<etcdserver.EtcdServer> {
    return etcdserver.EtcdServer.start(config, { env: this.env() });
  }

  /** Power loss: the process and its timers, files, backend handle and network end die. */
  crash(): void {
    this.clock.kill();
    this.peers.crash(this.memberId);
    this.disk.crash();
    this.fs.crash();
  }
}
