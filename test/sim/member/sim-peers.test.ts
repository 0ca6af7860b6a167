import { SeededRandom, proto } from '@kvfleet/core';
import { raft, type env } from '@kvfleet/server';
import type * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../event-queue.js';
import { HEALTHY_NETWORK, SimNetwork } from '../network.js';
import type { SimEvent } from './sim-clock.js';
import { SimPeers } from './sim-peers.js';

const url = (id: number): string => `http://m${id}:2380`;

interface Member {
  readonly net: env.PeerNetwork;
  readonly got: raft.Message[];
  readonly events: string[];
}

function setup(ids: number[]): { queue: EventQueue<SimEvent>; fates: SimNetwork; peers: SimPeers; members: Map<number, Member>; run(forMs?: number): Promise<void> } {
  const queue = new EventQueue<SimEvent>();
  const fates = new SimNetwork(new SeededRandom(1), { ...HEALTHY_NETWORK });
  const peers = new SimPeers(fates, (ms, fn) => queue.schedule(ms, fn), () => 1_000_000 + queue.now);
  const members = new Map<number, Member>();
  for (const id of ids) {
    const got: raft.Message[] = [];
    const events: string[] = [];
    const net = peers.network({
      localId: id,
      clusterId: 7,
      onMessage: (m) => got.push(m),
      snapshotSource: async () => (async function* () {
        yield Uint8Array.of(1, 2);
        yield Uint8Array.of(3);
      })(),
      snapshotSink: async (_m, data) => {
        let n = 0;
        for await (const chunk of data) n += chunk.length;
        events.push(`sink ${n} bytes`);
      },
      onUnreachable: (to) => events.push(`unreachable ${to}`),
      onSnapshotStatus: (to, ok) => events.push(`snapshot to ${to} ${ok ? 'ok' : 'failed'}`),
      onRemoved: (by) => events.push(`removed by ${by}`),
    });
    members.set(id, { net, got, events });
  }
  // Bounded: every listening member probes its peers forever, so the queue never drains.
  const run = async (forMs = 4_000): Promise<void> => {
    const until = queue.now + forMs;
    for (;;) {
      await new Promise((r) => setImmediate(r));
      const at = queue.peekTime();
      if (at === undefined || at > until) return;
      queue.pop()!();
    }
  };
  return { queue, fates, peers, members, run };
}

const msg = (type: raft.MessageType, from: number, to: number, extra: Partial<raft.Message> = {}): raft.Message =>
  raft.newMessage({ type, from, to, term: 3, ...extra });

describe('SimPeers: Raft messages between simulated members', () => {
  it('delivers to known peers only, after the link delay, as copies', async () => {
    const { members, run } = setup([1, 2, 3]);
    for (const [id, m] of members) {
      await m.net.listen(url(id));
      for (const other of members.keys()) if (other !== id) m.net.addPeer(other, [url(other)]);
    }
    const sent = msg(raft.MessageType.MsgHeartbeat, 1, 2);
    members.get(1)!.net.send([sent, msg(raft.MessageType.MsgHeartbeat, 1, 9)]);
    await run();
    expect(members.get(2)!.got).toHaveLength(1);
    expect(members.get(2)!.got[0]).not.toBe(sent);
    expect(members.get(2)!.got[0]!.type).toBe(raft.MessageType.MsgHeartbeat);
    expect(members.get(3)!.got).toHaveLength(0);
  });

  it('reports a cut link as unreachable, refuses a removed sender, streams a snapshot before stepping it', async () => {
    const { members, fates, run } = setup([1, 2]);
    for (const [id, m] of members) {
      await m.net.listen(url(id));
      m.net.addPeer(id === 1 ? 2 : 1, [url(id === 1 ? 2 : 1)]);
    }
    fates.cutOneWay(1, 2);
    members.get(1)!.net.send([msg(raft.MessageType.MsgApp, 1, 2)]);
    fates.heal();
    const snapshot = { data: new Uint8Array(0), metadata: { index: 10, term: 2, confState: { voters: [1, 2], learners: [] } } };
    members.get(1)!.net.send([msg(raft.MessageType.MsgSnap, 1, 2, { snapshot })]);
    await run();
    expect(members.get(1)!.events).toEqual(['unreachable 2', 'snapshot to 2 ok']);
    expect(members.get(2)!.events).toEqual(['sink 3 bytes']);
    expect(members.get(2)!.got.map((m) => m.type)).toEqual([raft.MessageType.MsgSnap]);
    members.get(2)!.net.removePeer(1);
    members.get(1)!.net.send([msg(raft.MessageType.MsgHeartbeat, 1, 2)]);
    await run();
    expect(members.get(1)!.events.at(-1)).toBe('removed by 2');
  });

  it('a member with nothing to send hears its removal from the prober, once the link heals', async () => {
    const { members, fates, run } = setup([1, 2]);
    for (const [id, m] of members) {
      await m.net.listen(url(id));
      m.net.addPeer(id === 1 ? 2 : 1, [url(id === 1 ? 2 : 1)]);
    }
    members.get(2)!.net.removePeer(1);
    fates.cutOneWay(2, 1);
    await run(12_000);
    expect(members.get(1)!.events).toEqual([]);
    fates.heal();
    await run(6_000);
    expect(members.get(1)!.events).toEqual(['removed by 2']);
    expect(members.get(2)!.events).toEqual([]);
  });
});

describe('SimPeers: calls to a peer service', () => {
  it('a unary call reaches the peer handler and comes back decoded; a crashed peer is UNAVAILABLE', async () => {
    const { members, peers, queue, run } = setup([1, 2]);
    const deadline = (): number => 1_000_000 + queue.now + 5000;
    const server = members.get(1)!.net;
    server.addService(proto.serviceDefinition('Cluster'), {
      MemberList: (call: grpc.ServerUnaryCall<proto.Decoded<proto.MemberListRequest>, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        cb(null, { header: { clusterId: 7 }, members: [{ ID: 2, name: call.request.linearizable === true ? 'lin' : 'ser' }] });
      },
    } as grpc.UntypedServiceImplementation);
    await server.listen(url(1));
    const client = peers.dialer(2)('Cluster', url(1));
    const [res] = await Promise.all([proto.unaryCall(client.MemberList.bind(client), { linearizable: true }, undefined, { deadline: deadline() }), run()]);
    expect(res.members?.[0]?.name).toBe('lin');
    expect(proto.int64ToNumber(res.header?.clusterId, 'cluster')).toBe(7);
    peers.crash(1);
    const failed = proto.unaryCall(client.MemberList.bind(client), {}, undefined, { deadline: deadline() }).catch((e: grpc.ServiceError) => e.code);
    await run();
    expect(await failed).toBe(14);
  });

  it('a call nobody answers fails at its deadline', async () => {
    const { members, peers, queue, run } = setup([1, 2]);
    members.get(1)!.net.addService(proto.serviceDefinition('Cluster'), { MemberList: () => {} } as grpc.UntypedServiceImplementation);
    await members.get(1)!.net.listen(url(1));
    const client = peers.dialer(2)('Cluster', url(1));
    const failed = proto.unaryCall(client.MemberList.bind(client), {}, undefined, { deadline: 1_000_000 + 300 }).catch((e: grpc.ServiceError) => e.code);
    await run();
    expect(await failed).toBe(4);
    expect(queue.now).toBe(300);
  });

  it('a keep-alive stream carries requests and responses in order', async () => {
    const { members, peers, run } = setup([1, 2]);
    const server = members.get(1)!.net;
    server.addService(proto.serviceDefinition('Lease'), {
      LeaseKeepAlive: (call: grpc.ServerDuplexStream<proto.Decoded<proto.LeaseKeepAliveRequest>, unknown>) => {
        call.on('data', (req) => call.write({ ID: req.ID, TTL: 10 * proto.int64ToNumber(req.ID, 'ID') }));
      },
    } as grpc.UntypedServiceImplementation);
    await server.listen(url(1));
    const client = peers.dialer(2)('Lease', url(1));
    const stream = client.LeaseKeepAlive();
    const ttls: number[] = [];
    stream.on('data', (res: proto.Decoded<proto.LeaseKeepAliveResponse>) => ttls.push(proto.int64ToNumber(res.TTL, 'TTL')));
    for (const id of [1, 2, 3]) stream.write({ ID: id });
    await run();
    expect(ttls).toEqual([10, 20, 30]);
  });
});
