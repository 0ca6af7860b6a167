/**
 * The simulated network between whole members: each member's `MemberEnv.network` (Raft messages,
 * snapshots, the services it serves on its peer port) and `MemberEnv.dial` (calls to a peer's
 * services), over the Raft simulator's SimNetwork, which decides every message's fate (lost,
 * delayed, duplicated, cut by a partition).
 *
 * As the real gRPC transport does:
 * - a member sends only to peers it knows (addPeer), and refuses a member it removed
 *   (removePeer): the sender hears `onRemoved`, etcd's 410 Gone; it also probes every peer
 *   it knows every few seconds (the transport's Prober), so a removed member with nothing to
 *   send (a learner) hears it too;
 * - a MsgSnap streams the sender's snapshot data into the receiver's sink before the message
 *   is stepped, and the sender hears the outcome (`onSnapshotStatus`), a lost one included;
 * - a message over a cut link is lost and its sender hears `onUnreachable`;
 * - a peer call is serialized with the service's own codecs, both ways, and fails with
 *   UNAVAILABLE when the peer is down or cut off, DEADLINE_EXCEEDED at its deadline.
 * Messages and calls are cloned through their encoding, so no object is shared between members.
 * Clients reach a member's client URL (serveClients) the same way, over links of their own.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { proto } from '@kvfleet/core';
import { type env, raft } from '@kvfleet/server';
import type { SimNetwork } from '../network.js';

type Message = raft.Message;
const MSG_SNAP = raft.MessageType.MsgSnap;

/** Schedules `fn` after `delayMs` of simulated time. */
export type Schedule = (delayMs: number, fn: () => void) => void;

interface ServerMethod {
  readonly def: grpc.MethodDefinition<unknown, unknown>;
  readonly handler: (...args: unknown[]) => void;
}

/** Something listening at a host: a member's peer port or its client URL. */
interface Endpoint {
  /** The member it belongs to (the end of every link to it). */
  readonly id: number;
  readonly services: Map<string, ServerMethod>;
  readonly isOpen: boolean;
}

function serve(services: Map<string, ServerMethod>, definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
  for (const [name, def] of Object.entries(definition)) {
    const handler = implementation[name];
    if (handler !== undefined) services.set(def.path, { def: def as grpc.MethodDefinition<unknown, unknown>, handler: handler as (...args: unknown[]) => void });
  }
}

/** A member's client URL. */
class ClientPort implements Endpoint {
  readonly services = new Map<string, ServerMethod>();
  isOpen = true;
  constructor(readonly id: number) {}
}

function status(code: number, details: string): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: undefined as unknown as grpc.Metadata }) as grpc.ServiceError;
}

/** How often a member probes each peer, as the real transport does (DEFAULT_PROBE_INTERVAL_MS). */
const PROBE_INTERVAL_MS = 5_000;
const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

export class SimPeers {
  private readonly byId = new Map<number, MemberNet>();
  private readonly byHost = new Map<string, Endpoint>();
  private readonly clientPorts = new Map<number, { port: ClientPort; host: string }>();
  /** Open streams by the members at either end: a crash breaks them, as a dead TCP peer does. */
  private readonly streams = new Map<number, Set<() => void>>();

  constructor(
    readonly fates: SimNetwork,
    readonly schedule: Schedule,
    /** The simulated wall clock that calls' deadlines are set on. */
    private readonly now: () => number,
  ) {}

  /** `MemberEnv.network` for a member. */
  network(options: env.PeerNetworkOptions): env.PeerNetwork {
    return new MemberNet(this, options);
  }

  /** `MemberEnv.dial` for member `fromId`. */
  dialer(fromId: number): env.PeerDialer {
    return <S extends env.PeerServiceName>(service: S, peerUrl: string) => this.client(fromId, service, new URL(peerUrl).host) as unknown as proto.ServiceClient<S>;
  }

  /** A client (its own id on the network, for partitions) of `service` at a member's client URL. */
  clientOf<S extends proto.ServiceName>(clientId: number, service: S, url: string): proto.ServiceClient<S> {
    return this.client(clientId, service, new URL(url).host) as unknown as proto.ServiceClient<S>;
  }

  /** Member `memberId` serves `services` at its client URL, until it stops serving or crashes. */
  serveClients(memberId: number, url: string, services: readonly { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }[]): void {
    this.stopServingClients(memberId);
    const port = new ClientPort(memberId);
    for (const { definition, implementation } of services) serve(port.services, definition, implementation);
    const host = new URL(url).host;
    this.byHost.set(host, port);
    this.clientPorts.set(memberId, { port, host });
  }

  /** Member `memberId`'s client URL goes away. */
  stopServingClients(memberId: number): void {
    const open = this.clientPorts.get(memberId);
    if (open === undefined) return;
    open.port.isOpen = false;
    if (this.byHost.get(open.host) === open.port) this.byHost.delete(open.host);
    this.clientPorts.delete(memberId);
  }

  /** @internal */
  register(net: MemberNet, host: string): void {
    this.byHost.set(host, net);
    this.byId.set(net.id, net);
  }

  /** @internal */
  unregister(net: MemberNet): void {
    for (const [host, n] of this.byHost) if (n === net) this.byHost.delete(host);
    if (this.byId.get(net.id) === net) this.byId.delete(net.id);
  }

  /** @internal A live, listening member by id. */
  member(id: number): MemberNet | undefined {
    const n = this.byId.get(id);
    return n?.isOpen === true ? n : undefined;
  }

  /** One hop from → to: its delay, or undefined when the link is cut (calls ride TCP: no random loss). */
  hop(from: number, to: number): number | undefined {
    if (this.fates.isCut(from, to)) return undefined;
    return this.fates.faults.minDelayMs;
  }

  private client(fromId: number, service: proto.ServiceName, host: string): Record<string, unknown> {
    const definition = proto.serviceDefinition(service) as unknown as Record<string, grpc.MethodDefinition<unknown, unknown>>;
    const client: Record<string, unknown> = { close: () => {} };
    for (const [name, def] of Object.entries(definition)) {
      client[name] = def.requestStream ? this.bidiCall(fromId, host, def) : this.unaryCall(fromId, host, def);
    }
    return client;
  }

  private target(fromId: number, host: string, path: string): { net: Endpoint; method: ServerMethod; there: number } | undefined {
    const net = this.byHost.get(host);
    if (net === undefined || !net.isOpen) return undefined;
    const method = net.services.get(path);
    const there = this.hop(fromId, net.id);
    if (method === undefined || there === undefined) return undefined;
    return { net, method, there };
  }

  private unaryCall(fromId: number, host: string, def: grpc.MethodDefinition<unknown, unknown>) {
    return (request: unknown, ...rest: unknown[]): { cancel(): void } => {
      const callback = rest.pop() as (err: grpc.ServiceError | null, res?: unknown) => void;
      const metadata = (rest[0] as grpc.Metadata | undefined)?.clone();
      const deadline = (rest[1] as { deadline?: Date | number } | undefined)?.deadline;
      let done = false;
      const finish = (err: grpc.ServiceError | null, res?: unknown): void => {
        if (done) return;
        done = true;
        callback(err, res);
      };
      if (deadline !== undefined) {
        const ms = Math.max(0, Number(deadline) - this.now());
        this.schedule(ms, () => finish(status(DEADLINE_EXCEEDED, 'Deadline exceeded')));
      }
      const t = this.target(fromId, host, def.path);
      if (t === undefined) {
        this.schedule(1, () => finish(status(UNAVAILABLE, `No connection established to ${host}`)));
        return { cancel: () => finish(status(1, 'Cancelled on client')) };
      }
      const bytes = def.requestSerialize(request);
      this.schedule(t.there, () => {
        if (!t.net.isOpen) return finish(status(UNAVAILABLE, 'Connection dropped'));
        const call = Object.assign(new EventEmitter(), {
          request: def.requestDeserialize(bytes),
          metadata: metadata ?? new grpc.Metadata(),
          cancelled: false,
          getDeadline: () => deadline ?? Infinity,
          getPeer: () => `sim:${fromId}`,
          sendMetadata: () => {},
        });
        t.method.handler(call, (err: Partial<grpc.StatusObject> | null, res?: unknown) => {
          const back = this.hop(t.net.id, fromId) ?? t.there;
          const reply = err === null || err === undefined ? def.responseDeserialize(def.responseSerialize(res)) : undefined;
          this.schedule(back, () =>
            err === null || err === undefined ? finish(null, reply) : finish(status(err.code ?? 2, err.details ?? 'unknown')),
          );
        });
      });
      return { cancel: () => finish(status(1, 'Cancelled on client')) };
    };
  }

  private bidiCall(fromId: number, host: string, def: grpc.MethodDefinition<unknown, unknown>) {
    return (metadata?: grpc.Metadata): EventEmitter & { write(req: unknown): boolean; end(): void; cancel(): void } => {
      const client = new EventEmitter() as EventEmitter & { write(req: unknown): boolean; end(): void; cancel(): void };
      let closed = false;
      const fail = (err: grpc.ServiceError): void => {
        if (closed) return;
        closed = true;
        client.emit('error', err);
      };
      const t = this.target(fromId, host, def.path);
      if (t === undefined) {
        this.schedule(1, () => fail(status(UNAVAILABLE, `No connection established to ${host}`)));
        Object.assign(client, { write: () => true, end: () => {}, cancel: () => fail(status(1, 'Cancelled on client')) });
        return client;
      }
      // The connection breaks (an end died, its link was cut): the server hears the call
      // cancelled, the client an UNAVAILABLE error.
      let broken = false;
      const breakStream = (): void => {
        if (closed || broken) return;
        broken = true;
        unregister();
        server.cancelled = true;
        server.emit('cancelled');
        this.schedule(1, () => fail(status(UNAVAILABLE, 'Connection dropped')));
      };
      const unregister = (): void => {
        for (const id of [fromId, t.net.id]) this.streams.get(id)?.delete(breakStream);
      };
      for (const id of [fromId, t.net.id]) {
        let set = this.streams.get(id);
        if (set === undefined) this.streams.set(id, (set = new Set()));
        set.add(breakStream);
      }
      client.once('error', unregister);
      client.once('end', unregister);
      const server = Object.assign(new EventEmitter(), {
        metadata: metadata?.clone() ?? new grpc.Metadata(),
        cancelled: false,
        getPeer: () => `sim:${fromId}`,
        write: (res: unknown): boolean => {
          const bytes = def.responseSerialize(res);
          const back = this.hop(t.net.id, fromId);
          if (back === undefined) {
            breakStream();
            return true;
          }
          this.schedule(back, () => {
            if (!closed) client.emit('data', def.responseDeserialize(bytes));
          });
          return true;
        },
        end: () => this.schedule(t.there, () => {
          if (!closed) {
            closed = true;
            client.emit('end');
          }
        }),
      });
      // A handler ends a stream with a status by emitting 'error' on its call (grpc-js sends that
      // as the call's status): the client gets it as its error.
      server.on('error', (err: Partial<grpc.StatusObject>) => {
        unregister();
        this.schedule(this.hop(t.net.id, fromId) ?? t.there, () => fail(status(err.code ?? 2, err.details ?? 'unknown')));
      });
      this.schedule(t.there, () => {
        if (!t.net.isOpen) return fail(status(UNAVAILABLE, 'Connection dropped'));
        t.method.handler(server);
      });
      Object.assign(client, {
        write: (req: unknown): boolean => {
          const bytes = def.requestSerialize(req);
          const there = this.hop(fromId, t.net.id);
          if (there === undefined) {
            breakStream();
            return true;
          }
          this.schedule(there, () => {
            if (!closed && t.net.isOpen) server.emit('data', def.requestDeserialize(bytes));
          });
          return true;
        },
        end: () => this.schedule(t.there, () => server.emit('end')),
        cancel: () => {
          if (closed) return;
          closed = true;
          unregister();
          server.cancelled = true;
          this.schedule(t.there, () => server.emit('cancelled'));
        },
      });
      return client;
    };
  }

  /** The member's process died: its end of the network goes silent (nothing in, nothing out). */
  crash(id: number): void {
    this.byId.get(id)?.kill();
    this.stopServingClients(id);
    this.breakStreams(id);
  }

  private breakStreams(id: number): void {
    const open = this.streams.get(id);
    if (open === undefined) return;
    this.streams.delete(id);
    for (const breakStream of [...open]) breakStream();
  }
}

/** One member's end of the simulated network. */
class MemberNet implements env.PeerNetwork, Endpoint {
  readonly id: number;
  readonly services = new Map<string, ServerMethod>();
  private readonly peers = new Map<number, readonly string[]>();
  private readonly removed = new Set<number>();
  private open = false;
  /** Bumped at every listen, so a probe loop from an earlier one stops. */
  private generation = 0;

  constructor(
    private readonly sim: SimPeers,
    readonly options: env.PeerNetworkOptions,
  ) {
    this.id = options.localId;
  }

  get isOpen(): boolean {
    return this.open;
  }

  addPeer(id: number, urls: readonly string[]): void {
    if (this.removed.has(id)) throw new Error(`member ${id.toString(16)} was removed and cannot be added again`);
    const known = this.peers.has(id);
    this.peers.set(id, urls);
    // The real Prober measures a new peer at once, then every interval.
    if (!known && this.open) this.probeOne(id, this.generation);
  }

  updatePeer(id: number, urls: readonly string[]): void {
    if (this.peers.has(id)) this.peers.set(id, urls);
  }

  removePeer(id: number): void {
    this.peers.delete(id);
    this.removed.add(id);
  }

  refuses(from: number): boolean {
    return this.removed.has(from);
  }

  send(messages: readonly Message[]): void {
    if (!this.open) return;
    for (const m of messages) {
      if (!this.peers.has(m.to)) continue;
      const delays = this.sim.fates.deliveries(this.id, m.to);
      if (delays.length === 0 && this.sim.fates.isCut(this.id, m.to)) this.options.onUnreachable(m.to);
      // A snapshot rides its own stream, which fails rather than vanishes: the sender always
      // hears how it went (Raft keeps the follower paused until then).
      if (delays.length === 0 && m.type === MSG_SNAP) this.sim.schedule(this.sim.fates.faults.maxDelayMs, () => this.open && this.options.onSnapshotStatus(m.to, false));
      for (const d of delays) this.sim.schedule(d, () => this.deliver(structuredClone(m)));
    }
  }

  private deliver(m: Message): void {
    if (!this.open) return;
    const to = this.sim.member(m.to);
    if (to === undefined) {
      if (m.type === MSG_SNAP) this.options.onSnapshotStatus(m.to, false);
      return;
    }
    if (to.refuses(this.id)) {
      this.options.onRemoved?.(m.to);
      return;
    }
    if (m.type !== MSG_SNAP) {
      to.options.onMessage(m);
      return;
    }
    void (async () => {
      try {
        const data = await this.options.snapshotSource(m);
        await to.options.snapshotSink(m, data);
        if (!to.isOpen) throw new Error('receiver went down');
        to.options.onMessage(m);
        if (this.open) this.options.onSnapshotStatus(m.to, true);
      } catch {
        if (this.open) this.options.onSnapshotStatus(m.to, false);
      }
    })();
  }

  rtt(peerId: number): number | undefined {
    return this.peers.has(peerId) ? 2 * this.sim.fates.faults.minDelayMs : undefined;
  }

  addService(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    serve(this.services, definition, implementation);
  }

  async listen(url: string): Promise<void> {
    this.open = true;
    this.sim.register(this, new URL(url).host);
    const generation = ++this.generation;
    this.sim.schedule(PROBE_INTERVAL_MS, () => this.probe(generation));
  }

  /** The Prober, every interval: each known peer that answers and removed this member refuses it. */
  private probe(generation: number): void {
    if (!this.open || generation !== this.generation) return;
    for (const id of this.peers.keys()) this.probeOne(id, generation);
    this.sim.schedule(PROBE_INTERVAL_MS, () => this.probe(generation));
  }

  private probeOne(id: number, generation: number): void {
    const there = this.sim.hop(this.id, id);
    if (there === undefined) return;
    this.sim.schedule(there, () => {
      const back = this.sim.hop(id, this.id);
      if (back === undefined || this.sim.member(id)?.refuses(this.id) !== true) return;
      // A peer dropped while the probe was out is no longer probed (the real one stops its prober).
      this.sim.schedule(back, () => this.open && generation === this.generation && this.peers.has(id) && this.options.onRemoved?.(id));
    });
  }

  async close(): Promise<void> {
    this.open = false;
    this.sim.unregister(this);
  }

  /** The process died: nothing more in or out. */
  kill(): void {
    this.open = false;
    this.sim.unregister(this);
  }
}
