import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { EntryType, type Message, MessageType } from '../../src/raft/types.js';
import { identityMetadata, PEER_METHODS, toBuffer } from '../../src/transport/peer-service.js';
import { decodeProbeResponse, encodeProbeRequest } from '../../src/transport/raft-codec.js';
import { bytes, connect, msg, startMember, useMembers, waitFor } from './helpers.js';

useMembers();

describe('PeerTransport', () => {
  it('delivers messages between three members with every field intact', async () => {
    const ms = await Promise.all([1, 2, 3].map((id) => startMember(id)));
    connect(ms);
    const [a, b, c] = ms as [(typeof ms)[0], (typeof ms)[0], (typeof ms)[0]];
    const app = msg(MessageType.MsgApp, 1, 2, {
      term: 3,
      logTerm: 2,
      index: 41,
      commit: 40,
      entries: [
        { term: 3, index: 42, type: EntryType.Normal, data: bytes(1000) },
        { term: 3, index: 43, type: EntryType.ConfChange, data: bytes(7, 5) },
      ],
    });
    const resp = msg(MessageType.MsgAppResp, 2, 1, { term: 3, index: 41, reject: true, rejectHint: 30, logTerm: 2 });
    const read = msg(MessageType.MsgReadIndex, 3, 1, { context: bytes(8, 2) });
    const hb = msg(MessageType.MsgHeartbeat, 1, 3, { commit: 40, context: bytes(8, 2) });
    a.transport.send([app, hb]);
    b.transport.send([resp]);
    c.transport.send([read]);
    await waitFor(() => a.received.length === 2 && b.received.length === 1 && c.received.length === 1);
    expect(b.received).toEqual([app]);
    expect(c.received).toEqual([hb]);
    expect(a.received).toContainEqual(resp);
    expect(a.received).toContainEqual(read);
    await waitFor(() => a.transport.rtt(2) !== undefined, 5_000, 'an RTT');
    expect(a.transport.rtt(2)).toBeGreaterThanOrEqual(0);
  });

  it('batches what is sent in one turn and keeps the order', async () => {
    const [a, b] = await Promise.all([startMember(1), startMember(2)]);
    connect([a, b]);
    // Groups of messages that arrived in one synchronous run, i.e. in one stream write.
    const groups: number[][] = [];
    let open = false;
    const n = 500;
    const got: number[] = [];
    const before = b.received.length;
    for (let i = 0; i < n; i++) a.transport.send([msg(MessageType.MsgApp, 1, 2, { index: i })]);
    await waitFor(() => b.received.length - before === n);
    for (const m of b.received.slice(before)) got.push(m.index);
    expect(got).toEqual([...Array(n).keys()]);
    // Recount using a fresh run, observing delivery turns.
    const seen: Message[] = [];
    const c = await startMember(3, {
      onMessage: (m) => {
        if (!open) {
          open = true;
          groups.push([]);
          queueMicrotask(() => (open = false));
        }
        groups.at(-1)!.push(m.index);
        seen.push(m);
      },
    });
    a.transport.addPeer(3, [c.url]);
    await waitFor(() => a.transport.rtt(3) !== undefined, 5_000, 'a connection to 3');
    a.transport.send(Array.from({ length: n }, (_, i) => msg(MessageType.MsgApp, 1, 3, { index: i })));
    await waitFor(() => seen.length === n);
    expect(groups.length).toBe(1);
    expect(groups[0]).toEqual([...Array(n).keys()]);
  });

  it('reports an unreachable peer and resumes once it is back', async () => {
    const a = await startMember(1);
    let b = await startMember(2);
    connect([a, b]);
    a.transport.send([msg(MessageType.MsgHeartbeat, 1, 2)]);
    await waitFor(() => b.received.length === 1);
    const port = b.transport.boundPort;
    await b.transport.close();
    await waitFor(() => a.unreachable.includes(2), 10_000, 'onUnreachable');
    a.transport.send([msg(MessageType.MsgHeartbeat, 1, 2, { commit: 5 })]);
    b = await startMember(2, {}, port);
    // Raft keeps retransmitting; do the same until the reconnected stream delivers.
    await waitFor(() => {
      if (b.received.length === 0) a.transport.send([msg(MessageType.MsgHeartbeat, 1, 2, { commit: 6 })]);
      return b.received.length > 0;
    }, 10_000, 'delivery after reconnect');
    expect(b.received[0]!.type).toBe(MessageType.MsgHeartbeat);
  });

  it('bounds the queue of a peer that is down, by count and by bytes', async () => {
    const a = await startMember(1, { maxQueuedMessages: 10, maxQueuedBytes: 64 * 1024 });
    // A port that was free a moment ago: nothing listens there.
    const gone = await startMember(9);
    const url = gone.url;
    await gone.transport.close();
    a.transport.addPeer(2, [url]);
    a.transport.send(Array.from({ length: 100 }, (_, i) => msg(MessageType.MsgApp, 1, 2, { index: i })));
    let s = a.transport.queueStats(2)!;
    expect(s.messages).toBeLessThanOrEqual(10);
    expect(s.dropped).toBeGreaterThanOrEqual(90);
    await waitFor(() => a.unreachable.includes(2), 5_000, 'onUnreachable after drops');

    const c = await startMember(3, { maxQueuedMessages: 1000, maxQueuedBytes: 64 * 1024 });
    c.transport.addPeer(2, [url]);
    const big = { term: 1, index: 1, type: EntryType.Normal, data: bytes(10 * 1024) };
    c.transport.send(Array.from({ length: 50 }, () => msg(MessageType.MsgApp, 3, 2, { entries: [big] })));
    s = c.transport.queueStats(2)!;
    expect(s.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(s.messages).toBeLessThanOrEqual(6);
    expect(s.dropped).toBeGreaterThanOrEqual(44);
    // Still bounded after the redial loop has run for a while.
    await new Promise((r) => setTimeout(r, 300));
    c.transport.send(Array.from({ length: 50 }, () => msg(MessageType.MsgApp, 3, 2, { entries: [big] })));
    expect(c.transport.queueStats(2)!.bytes).toBeLessThanOrEqual(64 * 1024);
  });

  it('streams a multi-megabyte snapshot in bounded chunks and delivers MsgSnap after the sink', async () => {
    const size = 5 * 1024 * 1024 + 123;
    const payload = bytes(size, 7);
    const chunkSizes: number[] = [];
    let stored: Uint8Array | undefined;
    let sinkDone = false;
    let releaseSink!: () => void;
    const sinkGate = new Promise<void>((r) => (releaseSink = r));
    const a = await startMember(1, {
      snapshotChunkBytes: 256 * 1024,
      snapshotSource: async () =>
        (async function* () {
          // Uneven pieces: the sender must re-cut them.
          for (let off = 0; off < size; off += 3 * 1024 * 1024 + 1) yield payload.subarray(off, off + 3 * 1024 * 1024 + 1);
        })(),
    });
    const b = await startMember(2, {
      snapshotSink: async (_m, data) => {
        const parts: Uint8Array[] = [];
        for await (const d of data) {
          chunkSizes.push(d.byteLength);
          parts.push(d);
        }
        await sinkGate;
        stored = Buffer.concat(parts);
        sinkDone = true;
      },
    });
    connect([a, b]);
    const snap = msg(MessageType.MsgSnap, 1, 2, {
      term: 4,
      snapshot: { data: bytes(20), metadata: { index: 77, term: 4, confState: { voters: [1, 2], learners: [3] } } },
    });
    a.transport.send([snap]);
    await waitFor(() => chunkSizes.reduce((x, y) => x + y, 0) === size, 20_000, 'all snapshot data');
    await new Promise((r) => setTimeout(r, 50));
    expect(b.received).toEqual([]); // not before the sink resolved
    expect(a.snapshotStatus).toEqual([]);
    releaseSink();
    await waitFor(() => a.snapshotStatus.length === 1, 10_000, 'snapshot status');
    expect(sinkDone).toBe(true);
    expect(a.snapshotStatus).toEqual([{ peer: 2, ok: true }]);
    expect(b.received).toEqual([snap]);
    expect(Math.max(...chunkSizes)).toBeLessThanOrEqual(256 * 1024);
    expect(Buffer.compare(stored!, payload)).toBe(0);
  });

  it('reports a failed snapshot when the sink rejects', async () => {
    const a = await startMember(1, {
      snapshotSource: async () => (async function* () { yield bytes(1000); })(),
    });
    const b = await startMember(2, { snapshotSink: async () => Promise.reject(new Error('disk full')) });
    connect([a, b]);
    a.transport.send([msg(MessageType.MsgSnap, 1, 2, { snapshot: { data: new Uint8Array(0), metadata: { index: 5, term: 1, confState: { voters: [1], learners: [] } } } })]);
    await waitFor(() => a.snapshotStatus.length === 1);
    expect(a.snapshotStatus).toEqual([{ peer: 2, ok: false }]);
    expect(b.received).toEqual([]);
  });

  it('rejects a member of another cluster with FAILED_PRECONDITION', async () => {
    const a = await startMember(1, { clusterId: 0x2000 });
    const b = await startMember(2);
    connect([a, b]);
    a.transport.send([msg(MessageType.MsgHeartbeat, 1, 2)]);
    await waitFor(() => a.logs.some((l) => l.includes('cluster ID mismatch')), 5_000, 'the mismatch log');
    expect(a.logs.find((l) => l.includes('cluster ID mismatch'))).toMatch(/^error .*FAILED_PRECONDITION/);
    expect(a.unreachable).toContain(2);
    expect(b.received).toEqual([]);

    // The same answer to a plain gRPC client.
    const client = new grpc.Client(`127.0.0.1:${b.transport.boundPort}`, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.makeUnaryRequest(
        PEER_METHODS.probe,
        toBuffer,
        decodeProbeResponse,
        encodeProbeRequest({ clusterId: 0x2000, memberId: 1 }),
        identityMetadata(1, 0x2000),
        (e) => resolve(e),
      ),
    );
    client.close();
    expect(err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err?.details).toMatch(/cluster ID mismatch/);
  });

  it('ignores messages from a removed member', async () => {
    const [a, b] = await Promise.all([startMember(1), startMember(2)]);
    connect([a, b]);
    a.transport.send([msg(MessageType.MsgHeartbeat, 1, 2)]);
    await waitFor(() => b.received.length === 1);
    b.transport.removePeer(1);
    a.transport.send([msg(MessageType.MsgHeartbeat, 1, 2, { commit: 9 })]);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.received).toHaveLength(1);
    expect(() => b.transport.addPeer(1, [a.url])).toThrow(/removed/);
  });

  it('tells a removed member that a peer removed it (etcd\'s 410 Gone), and nobody else', async () => {
    const removedBy: number[] = [];
    const a = await startMember(1, { onRemoved: (peer) => removedBy.push(peer), probeIntervalMs: 50 });
    const others: number[] = [];
    const [b, c] = await Promise.all([startMember(2, { onRemoved: (p) => others.push(p) }), startMember(3, { onRemoved: (p) => others.push(p) })]);
    connect([a, b, c]);
    a.transport.send([msg(MessageType.MsgHeartbeat, 1, 2), msg(MessageType.MsgHeartbeat, 1, 3)]);
    await waitFor(() => b.received.length === 1 && c.received.length === 1);
    expect(removedBy).toEqual([]);
    // Only 2 has applied the removal of 1.
    b.transport.removePeer(1);
    await waitFor(() => removedBy.includes(2), 5_000, 'member 1 told by 2 that it was removed');
    expect(removedBy.every((p) => p === 2)).toBe(true);
    expect(others).toEqual([]);
  });
});
