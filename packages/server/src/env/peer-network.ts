/**
 * The network between members, as a member uses it: Raft messages and snapshots to its peers,
 * the services it serves them on its peer port (lease and membership forwarding, the member
 * list a joining member asks for), and calls to theirs. The real one is the gRPC peer transport
 * (transport/); the simulator's delivers through its simulated network.
 */
import type * as grpc from '@grpc/grpc-js';
import type { proto } from '@kvfleet/core';
import type { Message } from '../raft/types.js';
import type { PeerTransportOptions } from '../transport/peer-transport.js';

/** What the member gives its network: where messages go, snapshot data, failure reports. */
export type PeerNetworkOptions = PeerTransportOptions;

export interface PeerNetwork {
  addPeer(id: number, urls: readonly string[]): void;
  updatePeer(id: number, urls: readonly string[]): void;
  removePeer(id: number): void;
  /** Raft's outgoing messages; a MsgSnap streams the snapshot's data. Never throws: losses are reported. */
  send(messages: readonly Message[]): void;
  /** The last measured round trip to a peer, in milliseconds. */
  rtt(peerId: number): number | undefined;
  /** A service this member serves its peers, added before `listen`. */
  addService(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void;
  listen(url: string): Promise<void>;
  close(): Promise<void>;
}

/** The services members call on each other (Maintenance: Status only, for the status page). */
export type PeerServiceName = 'Lease' | 'Cluster' | 'Maintenance';

/** A client of a peer's service at its peer URL; the caller closes it. */
export type PeerDialer = <S extends PeerServiceName>(service: S, peerUrl: string) => proto.ServiceClient<S>;
