/**
 * What `/status.json` answers, on members and proxies alike: the page (status-page.ts) renders
 * either. Ids are hex strings, as etcdctl prints them (and above 2^53 a number would round).
 */
import { int64ToBigInt, int64ToNumber } from '../proto/int64.js';
import type { StatusResponse } from '../proto/maintenance.js';
import type { StatusSample } from './status-history.js';

/** One member's Maintenance.Status answer, as the page shows it. */
export interface MemberStatusFields {
  readonly version: string;
  readonly raftTerm: number;
  readonly raftIndex: number;
  readonly raftAppliedIndex: number;
  readonly revision: number;
  readonly dbSize: number;
  readonly dbSizeInUse: number;
  readonly leader: string;
  /** Status `errors`: a missing leader, then each raised alarm. */
  readonly errors: readonly string[];
}

export interface MemberRow {
  readonly id: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
  /** The process serving this page. */
  readonly self: boolean;
  /** Its status, or why it could not be read. */
  readonly status?: MemberStatusFields;
  readonly error?: string;
}

/** A proxy's own state. */
export interface ProxyFields {
  readonly upstream: readonly string[];
  /** The endpoint the proxy calls now, and the leader's when known. */
  readonly currentEndpoint: string;
  readonly leaderEndpoint?: string;
  readonly ready: boolean;
  readonly revision: number;
  readonly upstreamRevision: number;
  readonly lagRevisions: number;
  readonly lagMs: number;
  readonly watchers: number;
  readonly cacheKeys: number;
  readonly cacheBytes: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
}

export interface StatusSnapshot {
  readonly role: 'member' | 'proxy';
  /** The member's name, or the proxy's first client URL. */
  readonly name: string;
  readonly version: string;
  readonly clusterId: string;
  /** The leader's id as this process knows it ('0': none). */
  readonly leader: string;
  /** Wall-clock milliseconds when the snapshot was taken. */
  readonly now: number;
  readonly members: readonly MemberRow[];
  readonly proxy?: ProxyFields;
  /** What the charts' lag is: a member's committed entries not yet applied, a proxy's revisions behind. */
  readonly lagUnit: 'entries' | 'revisions';
  readonly history: readonly StatusSample[];
  /** Why the member list is missing or incomplete. */
  readonly error?: string;
}

/** etcd's way of printing a member id (0: none). */
export function hexId(id: Parameters<typeof int64ToBigInt>[0]): string {
  return int64ToBigInt(id, 'id').toString(16);
}

/** A Maintenance.Status answer (local or decoded from the wire) as the page shows it. */
export function statusFields(res: StatusResponse): MemberStatusFields {
  return {
    version: res.version ?? '',
    raftTerm: int64ToNumber(res.raftTerm, 'raft_term'),
    raftIndex: int64ToNumber(res.raftIndex, 'raft_index'),
    raftAppliedIndex: int64ToNumber(res.raftAppliedIndex, 'raft_applied_index'),
    revision: int64ToNumber(res.header?.revision, 'revision'),
    dbSize: int64ToNumber(res.dbSize, 'db_size'),
    dbSizeInUse: int64ToNumber(res.dbSizeInUse, 'db_size_in_use'),
    leader: hexId(res.leader),
    errors: [...(res.errors ?? [])],
  };
}
