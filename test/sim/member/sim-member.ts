/**
 * One simulated member's world: its MemberEnv built from the simulated clock, disk, backend and
 * network, and what a crash does to it (every part of the process dies; the disk keeps what was
 * durable). The real EtcdServer runs on it unchanged.
 */
import { SeededRandom } from '@kvfleet/core';
import { api, type env, etcdserver } from '@kvfleet/server';
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
  /** The member ended its own process (removed: 0, fatal: 1). */
  readonly onExit?: (code: number) => void;
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
      // A dead incarnation's code may still run (a promise the crash rejected): it cannot end
      // the process that replaced it.
      process: {
        exit: (code) => {
          if (clock.dead) return;
          this.exitCode = code;
          this.crash();
          this.options.onExit?.(code);
        },
        crash: () => {
          if (!clock.dead) this.crash();
        },
      },
    };
  }

  /**
   * Starts an incarnation of the member on its simulated world, serving the member's own gRPC
   * handlers (api/) on its peer port and, once started, on its first client URL.
   */
  async start(config: etcdserver.MemberConfig): Promise<etcdserver.EtcdServer> {
    const env = this.env();
    const clock = this.clock;
    const server = await etcdserver.EtcdServer.start(config, {
      env,
      peerServices: (transport, member) => {
        for (const { definition, implementation } of api.peerServices(member)) transport.addService(definition, implementation);
      },
    });
    // A crash while starting leaves nothing listening.
    if (!clock.dead) this.peers.serveClients(server.memberId, config.advertiseClientUrls[0]!, api.clientServices(server).services);
    return server;
  }

  /** Power loss: the process and its timers, files, backend handle and network end die. */
  crash(): void {
    this.clock.kill();
    this.peers.crash(this.memberId);
    this.disk.crash();
    this.fs.crash();
  }
}
