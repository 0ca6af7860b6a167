import { afterEach } from 'vitest';
import { type Message, type MessageType, newMessage } from '../../src/raft/types.js';
import type { TransportLogger } from '../../src/transport/logger.js';
import { PeerTransport, type PeerTransportOptions } from '../../src/transport/peer-transport.js';

/** A transport on 127.0.0.1:<port> (0 = any) recording everything it reports. */
export interface Member {
  readonly id: number;
  readonly transport: PeerTransport;
  readonly url: string;
  readonly received: Message[];
  readonly unreachable: number[];
  readonly snapshotStatus: Array<{ peer: number; ok: boolean }>;
  readonly logs: string[];
}

const open: PeerTransport[] = [];

/** Closes whatever a test left open, so one failing test cannot hang the next. */
export function useMembers(): void {
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });
}

export async function startMember(
  id: number,
  extra: Partial<PeerTransportOptions> = {},
  port = 0,
): Promise<Member> {
  const received: Message[] = [];
  const unreachable: number[] = [];
  const snapshotStatus: Array<{ peer: number; ok: boolean }> = [];
  const logs: string[] = [];
  const log = (level: string) => (m: string) => logs.push(`${level} ${m}`);
  const logger: TransportLogger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const transport = new PeerTransport({
    localId: id,
    clusterId: 0x1000,
    onMessage: (m) => received.push(m),
    snapshotSource: async () => (async function* () {})(),
    snapshotSink: async (_m, data) => {
      for await (const _ of data);
    },
    onUnreachable: (p) => unreachable.push(p),
    onSnapshotStatus: (peer, ok) => snapshotStatus.push({ peer, ok }),
    logger,
    reconnectBaseMs: 20,
    reconnectMaxMs: 200,
    ...extra,
  });
  open.push(transport);
  await transport.listen(`http://127.0.0.1:${port}`);
  return {
    id,
    transport,
    url: `http://127.0.0.1:${transport.boundPort}`,
    received,
    unreachable,
    snapshotStatus,
    logs,
  };
}

/** Makes every member a peer of every other. */
export function connect(members: readonly Member[]): void {
  for (const a of members) for (const b of members) if (a !== b) a.transport.addPeer(b.id, [b.url]);
}

export function msg(type: MessageType, from: number, to: number, fields: Partial<Message> = {}): Message {
  return newMessage({ type, from, to, term: 1, ...fields });
}

export async function waitFor(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}
