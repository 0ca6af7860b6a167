/** What a member's metrics read from it at scrape time. */
import { effectiveQuotaBytes } from '../maintenance/quota.js';
import type { MetricsSource } from '../metrics/member-metrics.js';
import type { KvStore } from '../mvcc/kv-store.js';

/** What the metrics read of the member (EtcdServer): what they pass through, and what they derive from. */
export type MetricsMember = Pick<MetricsSource, 'memberId' | 'leaderId' | 'isLeader' | 'committedIndex' | 'appliedIndex' | 'backendSizes' | 'peerRttMs'> & {
  readonly config: { readonly quotaBackendBytes: number };
  readonly kv: Pick<KvStore, 'range'>;
  readonly membership: { readonly members: readonly { readonly id: number }[] };
};

const ALL = Uint8Array.of(0);

export function memberMetricsSource(member: MetricsMember): MetricsSource {
  return {
    get memberId() {
      return member.memberId;
    },
    get leaderId() {
      return member.leaderId;
    },
    get isLeader() {
      return member.isLeader;
    },
    get committedIndex() {
      return member.committedIndex;
    },
    get appliedIndex() {
      return member.appliedIndex;
    },
    get backendSizes() {
      return member.backendSizes;
    },
    get quotaBackendBytes() {
      return effectiveQuotaBytes(member.config.quotaBackendBytes);
    },
    keysTotal: () => member.kv.range(ALL, ALL, { countOnly: true }).count,
    peerIds: () => member.membership.members.map((m) => m.id).filter((id) => id !== member.memberId),
    peerRttMs: (id) => member.peerRttMs(id),
  };
}
