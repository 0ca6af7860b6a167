/**
 * Round-trip time to one peer: a `Peer.Probe` every interval, keeping the last measured RTT
 * for metrics. The probe also checks that the peer answers as the member and cluster we
 * expect, which catches a URL pointing at the wrong process.
 */
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { hexId, type TransportLogger } from './logger.js';
import type { PeerChannel } from './peer-channel.js';
import { identityMetadata, isMemberRemovedRefusal, PEER_METHODS, toBuffer } from './peer-service.js';
import { decodeProbeResponse, encodeProbeRequest } from './raft-codec.js';

export interface ProberOptions {
  readonly peerId: number;
  readonly localId: number;
  readonly clusterId: number;
  readonly channel: PeerChannel;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly logger: TransportLogger;
  /** The peer refused us as a member it removed. */
  readonly onRemoved: () => void;
}

export class Prober {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: grpc.ClientUnaryCall | undefined;
  private last: number | undefined;
  private stopped = false;

  constructor(private readonly o: ProberOptions) {
    // Measure at once, so an RTT exists before the first interval has passed.
    this.probe();
    this.timer = setInterval(() => this.probe(), o.intervalMs);
  }

  /** The last measured round-trip time in milliseconds, undefined before the first answer. */
  get rtt(): number | undefined {
    return this.last;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.inFlight?.cancel();
    this.inFlight = undefined;
  }

  private probe(): void {
    if (this.stopped || this.inFlight !== undefined) return; // a slow peer gets no pile-up
    const { peerId, localId, clusterId } = this.o;
    const started = performance.now();
    const call = this.o.channel.client.makeUnaryRequest(
      PEER_METHODS.probe,
      toBuffer,
      decodeProbeResponse,
      encodeProbeRequest({ clusterId, memberId: localId }),
      identityMetadata(localId, clusterId),
      { deadline: Date.now() + this.o.timeoutMs },
      (err, res) => {
        if (this.inFlight === call) this.inFlight = undefined;
        if (this.stopped) return;
        if (err !== null || res === undefined) {
          const line = `peer ${hexId(peerId)}: probe failed: ${err?.details ?? 'no response'}`;
          // A refusal (wrong cluster, removed member) is a configuration problem, not a blip.
          if (err?.code === grpc.status.FAILED_PRECONDITION) this.o.logger.warn(line);
          else this.o.logger.debug(line);
          if (isMemberRemovedRefusal(err)) this.o.onRemoved();
          return;
        }
        if (res.memberId !== peerId) {
          this.o.logger.warn(`peer ${hexId(peerId)} (${this.o.channel.url}) answers as member ${hexId(res.memberId)}`);
          return;
        }
        this.last = performance.now() - started;
      },
    );
    this.inFlight = call;
  }
}
