/**
 * Membership changes in a whole-member run, as an operator makes them through the Cluster
 * service: add a learner, start it (it joins with `--initial-cluster-state existing`), promote
 * it once it has caught up (etcd refuses before), then remove one of the older members, which
 * stops on its own. Every call goes to a random live member and is retried as etcdctl users do.
 */
import { proto, type RandomSource } from '@kvfleet/core';
import type { SimPeers } from './sim-peers.js';

/** What the membership driver needs of a member of the run. */
export interface ChangingMember {
  readonly name: string;
  /** Its member id once its network is open (0 before). */
  memberId(): number;
}

export interface MembershipContext<M extends ChangingMember> {
  readonly peers: SimPeers;
  /** Network id of the operator's client. */
  readonly clientId: number;
  readonly rng: RandomSource;
  readonly sleep: (ms: number) => Promise<void>;
  /** The simulated wall clock (deadlines). */
  readonly now: () => number;
  /** Members that are in the cluster and not being removed. */
  readonly live: () => readonly M[];
  /** Creates and starts member `name`, joining the cluster `initialCluster` names. */
  readonly join: (name: string, initialCluster: string) => M;
  /** `m` is about to be removed: it may stop on its own from now on. */
  readonly removing: (m: M) => void;
  /** Whether `m` may be removed (the run's clients know only some members' URLs). */
  readonly removable: (m: M) => boolean;
}

const ATTEMPTS = 40;

/** One change: a learner added, started and promoted, then an older member removed. Returns what happened, in words. */
export async function changeMembership<M extends ChangingMember>(ctx: MembershipContext<M>, name: string): Promise<string> {
  const peerUrl = `http://${name}:2380`;
  let added: proto.Decoded<proto.MemberAddResponse>;
  try {
    added = await call(ctx, 'MemberAdd', { peerURLs: [peerUrl], isLearner: true });
  } catch (e) {
    // etcd refuses to add to an unhealthy cluster (a member down or cut off): the operator gives up for now.
    return `did not add ${name}: ${e instanceof Error ? e.message : String(e)}`;
  }
  const id = proto.int64ToBigInt(added.member?.ID ?? 0);
  // Names as the members will have published them (the host of their peer URL, here): a member
  // that has not published yet is listed without one.
  const initialCluster = (added.members ?? []).map((m) => `${new URL(m.peerURLs?.[0] ?? '').hostname}=${m.peerURLs?.[0] ?? ''}`).join(',');
  if (process.env.SIM_LOG !== undefined) process.stderr.write(`membership: ${name} joins --initial-cluster ${initialCluster}\n`);
  const joined = ctx.join(name, initialCluster);
  // etcd promotes only a learner that has caught up with the leader: retried until it has, or
  // left a learner (a lagging learner under faults is a state etcd allows).
  try {
    await call(ctx, 'MemberPromote', { ID: id.toString() });
  } catch (e) {
    return `added ${name}, left it a learner: ${e instanceof Error ? e.message : String(e)}`;
  }
  const older = ctx.live().filter((m) => m !== joined && m.memberId() !== 0 && ctx.removable(m));
  if (older.length === 0 || ctx.live().length < 3) return `added and promoted ${name}`;
  const gone = ctx.rng.pick(older);
  ctx.removing(gone);
  await call(ctx, 'MemberRemove', { ID: BigInt(gone.memberId()).toString() });
  return `added and promoted ${name}, removed ${gone.name}`;
}

type ClusterMethod = 'MemberAdd' | 'MemberPromote' | 'MemberRemove' | 'MemberList';

async function call<K extends ClusterMethod, M extends ChangingMember>(ctx: MembershipContext<M>, method: K, request: object): Promise<proto.Decoded<proto.MemberAddResponse>> {
  let last = '';
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const live = ctx.live();
    const url = `http://${ctx.rng.pick(live).name}:2379`;
    const client = ctx.peers.clientOf(ctx.clientId, 'Cluster', url);
    try {
      const fn = client[method].bind(client) as unknown as proto.UnaryClientMethod<object, proto.MemberAddResponse>;
      return await proto.unaryCall(fn, request as never, undefined, { deadline: ctx.now() + 2000 });
    } catch (e) {
      last = (e as { details?: string }).details ?? String(e);
      // A change that took effect but whose answer was lost is refused the second time: done.
      if (method === 'MemberRemove' && last === 'etcdserver: member not found') return {} as proto.Decoded<proto.MemberAddResponse>;
      if (method === 'MemberPromote' && last === 'etcdserver: can only promote a learner member') return {} as proto.Decoded<proto.MemberAddResponse>;
      if (method === 'MemberAdd' && last === 'etcdserver: Peer URLs already exists') {
        // Added by an earlier try: the member list has it (and what the joiner needs).
        const list = await call(ctx, 'MemberList', {});
        const urls = (request as { peerURLs: string[] }).peerURLs;
        const member = list.members?.find((m) => m.peerURLs?.[0] === urls[0]);
        if (member !== undefined) return { ...list, member } as proto.Decoded<proto.MemberAddResponse>;
      }
      await ctx.sleep(200);
    }
  }
  throw new Error(`${method} never succeeded (last: ${last})`);
}
