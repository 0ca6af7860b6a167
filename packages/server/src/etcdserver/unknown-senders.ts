/**
 * Messages from a member this one does not list. A member that was down, or whose WAL lost its
 * tail, may not have applied the addition of a member that has since become the leader: it
 * hears the leader but has no address to answer, and the leader can never bring it up to date
 * (whole-member simulator seed 1719021547). So, as etcd's "remotes" help a joining member reach
 * the cluster, the member asks the peers it knows for the sender's peer URLs and talks to it.
 * Membership itself changes only by applying entries; this only opens the transport.
 */
import type { Clock } from '../env/clock.js';
import type { PeerDialer } from '../env/peer-network.js';
import type { MemberInfo } from '../member/cluster-config.js';
import type { Logger } from '../logger.js';
import { askMember } from './remote-cluster.js';

export interface UnknownSendersDeps {
  readonly selfId: number;
  readonly clock: Clock;
  readonly dial: PeerDialer;
  readonly logger: Logger;
  /** The members as applied here. */
  members(): readonly MemberInfo[];
  /** Whether this member applied the removal of `id`. */
  isRemoved(id: number): boolean;
  /** Opens the transport to `id` (idempotent). */
  addPeer(id: number, urls: readonly string[]): void;
  /** How long one peer may take to answer, and how long before a sender nobody knew is looked up again. */
  readonly timeoutMs: number;
}

export class UnknownSenders {
  /** Senders looked up (or being looked up): when they may be looked up again. */
  private readonly nextLookup = new Map<number, number>();
  private readonly reached = new Set<number>();

  constructor(private readonly deps: UnknownSendersDeps) {}

  /** Called for every peer message; cheap when the sender is known. */
  noteSender(id: number): void {
    const { deps } = this;
    if (id === deps.selfId || this.reached.has(id) || deps.isRemoved(id)) return;
    if (deps.members().some((m) => m.id === id)) return;
    const now = deps.clock.monotonic();
    if ((this.nextLookup.get(id) ?? 0) > now) return;
    // Bounded: one entry per unknown sender, and only until it is found.
    this.nextLookup.set(id, Number.POSITIVE_INFINITY);
    void this.lookUp(id).then((found) => {
      if (found) this.nextLookup.delete(id);
      else this.nextLookup.set(id, deps.clock.monotonic() + deps.timeoutMs);
    });
  }

  private async lookUp(id: number): Promise<boolean> {
    const { deps } = this;
    const urls = deps.members().filter((m) => m.id !== deps.selfId).flatMap((m) => m.peerUrls.slice(0, 1));
    for (const url of urls) {
      const remote = await askMember(deps, url, deps.timeoutMs).catch(() => undefined);
      const sender = remote?.members.find((m) => m.id === id);
      if (sender === undefined || sender.peerUrls.length === 0) continue;
      if (deps.isRemoved(id)) return true;
      try {
        deps.addPeer(id, sender.peerUrls);
      } catch (e) {
        deps.logger.warn('could not reach a member this one does not list yet', { member: id.toString(16), error: String(e) });
        return false;
      }
      this.reached.add(id);
      deps.logger.info('reaching a member this one does not list yet', { member: id.toString(16), peerUrls: sender.peerUrls, askedAt: url });
      return true;
    }
    return false;
  }
}
