/**
 * Client traffic for whole-member simulations: the robustness suite's traffic mixes and request
 * runner (trafficStep, runRequest), sent to the members' own gRPC handlers over the simulated
 * network and recorded on simulated time, so the robustness checkers read the history as they
 * read a real one.
 */
import type { RandomSource } from '@kvfleet/core';
import type { KvResponse } from '../../robustness/history.js';
import { type KvClients, runRequest } from '../../robustness/kv-client.js';
import { type HistoryRecorder, trafficStep, type TrafficMix } from '../../robustness/traffic.js';
import type { SimPeers } from './sim-peers.js';

/** Network ids of clients start here (members' ids are their member ids, far larger or small). */
export const FIRST_CLIENT_ID = 1_000;

export interface SimTrafficOptions {
  readonly peers: SimPeers;
  /** Members' client URLs. */
  readonly endpoints: readonly string[];
  readonly clients: number;
  readonly mix: TrafficMix;
  /** Every key the traffic writes starts with it. */
  readonly prefix: string;
  readonly rng: RandomSource;
  /** Simulated sleep. */
  readonly sleep: (ms: number) => Promise<void>;
  /** The simulated wall clock (for deadlines). */
  readonly now: () => number;
  /** A client's pause between steps is drawn from [0, thinkMs). */
  readonly thinkMs: number;
  readonly timeoutMs: number;
}

export interface SimTraffic {
  /** Asks every client to finish its step; resolves when all have (run the simulation meanwhile). */
  stop(): Promise<void>;
  readonly stats: { ok: number; failed: number; unknown: number };
}

/** The clients of every member for a client with network id `clientId`. */
export function simClients(peers: SimPeers, clientId: number, endpoints: readonly string[]): Map<string, KvClients> {
  return new Map(endpoints.map((url) => [url, { kv: peers.clientOf(clientId, 'KV', url), lease: peers.clientOf(clientId, 'Lease', url) }]));
}

export function startSimTraffic(o: SimTrafficOptions, recorder: HistoryRecorder): SimTraffic {
  const stats = { ok: 0, failed: 0, unknown: 0 };
  const leases: string[] = [];
  let running = true;
  const loops = Array.from({ length: o.clients }, async (_, client) => {
    const rng = o.rng.fork();
    const clients = simClients(o.peers, FIRST_CLIENT_ID + client, o.endpoints);
    // As the real traffic: half the clients stay on one member, the others pick one per request.
    const pinned = client % 2 === 0 ? o.endpoints[client % o.endpoints.length] : undefined;
    let seq = 0;
    const value = (): string => `c${client}-${seq++}`;
    const exec = async (request: Parameters<typeof runRequest>[1]): Promise<KvResponse | undefined> => {
      const url = pinned ?? o.endpoints[rng.int(o.endpoints.length)]!;
      const outcome = await recorder.record(client, url, request, () => runRequest(clients.get(url)!, request, o.timeoutMs, o.now));
      stats[outcome.status]++;
      if (process.env.SIM_LOG !== undefined) process.stderr.write(`${String(o.now() % 1e6).padStart(6)} client ${client} ${url} ${JSON.stringify(request)} -> ${JSON.stringify(outcome).slice(0, 200)}\n`);
      return outcome.status === 'ok' ? outcome.response : undefined;
    };
    while (running) {
      await trafficStep(o.mix, exec, rng, o.prefix, value, leases);
      await o.sleep(rng.int(o.thinkMs));
    }
  });
  const all = Promise.all(loops);
  return {
    stats,
    stop() {
      running = false;
      return all.then(() => undefined);
    },
  };
}
