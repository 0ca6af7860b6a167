/**
 * The status page on a member's client URLs (`/status`, see core's status/): this member's
 * Raft and store state, every member's Maintenance.Status (asked over their peer ports, so
 * the browser makes only same-origin requests), and the last minutes of writes, reads and
 * apply lag, sampled on the member's clock.
 */
import { hexId, proto, registerStatusPage, statusFields, type MemberRow, type MemberStatusFields, type StatusSample, type StatusSnapshot } from '@kvfleet/core';
import type { FastifyInstance } from 'fastify';
import { statusResponse, type StatusMember } from '../etcdserver/status-response.js';
import type { AppliedStateReader, EnvHost, MembershipHost, MemberSettings, MetricsHost } from '../etcdserver/roles.js';
import { API_VERSION } from '../version.js';

/** What the page reads of the member. */
export type StatusPageMember = EnvHost & StatusMember & Pick<MembershipHost, 'memberList'> & MemberSettings & MetricsHost & Pick<AppliedStateReader, 'kv'>;

/** A peer's answer is waited for this long: the page polls every 2 s. */
const PEER_STATUS_TIMEOUT_MS = 1000;

/** Adds the status page to `app`; it samples the member until the app closes. */
export function registerMemberStatus(app: FastifyInstance, member: StatusPageMember): void {
  const peers = new PeerStatusClients(member);
  app.addHook('onClose', async () => peers.close());
  registerStatusPage(app, {
    sample: (): StatusSample => ({
      t: member.env.clock.now(),
      writes: member.kv.currentRevision,
      reads: member.metrics.readsServed,
      lag: Math.max(0, member.committedIndex - member.appliedIndex),
    }),
    snapshot: (history) => memberSnapshot(member, history, peers),
    every: (fn, ms) => {
      const timer = member.env.clock.setInterval(fn, ms, { unref: true });
      return () => timer.cancel();
    },
  });
}

/** `history` ends with a sample taken now, so the charts reach the present. */
async function memberSnapshot(member: StatusPageMember, history: StatusSample[], peers: PeerStatusClients): Promise<StatusSnapshot> {
  const self = member.memberId;
  const list = member.memberList();
  peers.retain(list.map((m) => m.peerUrls[0]).filter((u): u is string => u !== undefined));
  const members = await Promise.all(
    list.map(async (m): Promise<MemberRow> => {
      const row = { id: hexId(m.id), name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls, isLearner: m.isLearner, self: m.id === self };
      if (m.id === self) return { ...row, status: statusFields(statusResponse(member)) };
      try {
        return { ...row, status: await peers.ask(m.peerUrls) };
      } catch (e) {
        return { ...row, error: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
  return {
    role: 'member',
    name: member.config.name,
    version: API_VERSION,
    clusterId: hexId(member.header().clusterId),
    leader: hexId(member.leaderId),
    now: member.env.clock.now(),
    members,
    lagUnit: 'entries',
    history,
  };
}

/** One client per peer URL, kept between polls (a new one would connect every time). */
class PeerStatusClients {
  private readonly clients = new Map<string, proto.ServiceClient<'Maintenance'>>();

  constructor(private readonly member: EnvHost) {}

  async ask(peerUrls: readonly string[]): Promise<MemberStatusFields> {
    const url = peerUrls[0];
    if (url === undefined) throw new Error('the member has no peer URL');
    let client = this.clients.get(url);
    if (client === undefined) {
      client = this.member.env.dial('Maintenance', url);
      this.clients.set(url, client);
    }
    const { clock } = this.member.env;
    const res = await proto.unaryCall(client.Status.bind(client), {}, undefined, { deadline: clock.now() + PEER_STATUS_TIMEOUT_MS });
    return statusFields(res);
  }

  /** Closes the clients of peers no longer listed. */
  retain(urls: readonly string[]): void {
    const keep = new Set(urls);
    for (const [url, client] of this.clients) {
      if (keep.has(url)) continue;
      client.close();
      this.clients.delete(url);
    }
  }

  close(): void {
    this.retain([]);
  }
}
