/** What a member's metrics read from it at scrape time. */
import type { EtcdServer } from '../etcdserver/etcd-server.js';
import { effectiveQuotaBytes } from '../maintenance/quota.js';
import type { MetricsSource } from './member-metrics.js';

const ALL = Uint8Array.of(0);

export function memberMetricsSource(member: EtcdServer): MetricsSource {
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
