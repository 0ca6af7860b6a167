/**
 * The quota check in front of Put, Txn and LeaseGrant (etcd's v3rpc quotaAlarmer): a request
 * that would take the backend past the quota is refused with etcd's "database space exceeded"
 * and this member raises NOSPACE, through Raft, under its own member id.
 */
import { EtcdError, ETCD_ERRORS, proto } from '@kvfleet/core';
import type { AlarmRequest, InternalRequest } from '../apply/requests.js';
import type { Logger } from '../logger.js';
import { quotaAvailable, type QuotaRequest } from './quota.js';

/** What the quota checks need from the member: its size and quota, its alarms, and a way to raise one. */
export interface QuotaHost {
  readonly memberId: number;
  readonly backendSizeBytes: number;
  readonly config: { readonly logger: Logger; readonly quotaBackendBytes: number };
  readonly alarms: { has(type: number): boolean };
  propose(body: { readonly alarm: AlarmRequest }): Promise<unknown>;
}

export async function checkQuota(server: QuotaHost, req: QuotaRequest): Promise<void> {
  if (quotaAvailable(server.backendSizeBytes, server.config.quotaBackendBytes, req)) return;
  // etcd waits for the alarm's proposal (ignoring its outcome) before answering.
  await server
    .propose({ alarm: { action: proto.AlarmAction.ACTIVATE, memberID: server.memberId, alarm: proto.AlarmType.NOSPACE } })
    .catch(() => undefined);
  throw new EtcdError(ETCD_ERRORS.ErrGRPCNoSpace);
}

/** The quota at apply time (etcd's quotaApplierV3): the applier asks before a write, raises after it. */
export interface ApplyQuota {
  /** Whether `req` takes this member's backend past the quota (checked before applying it). */
  exceeds(req: InternalRequest): boolean;
  /** Raises NOSPACE under this member's id unless a NOSPACE alarm is already raised; never rejects. */
  raise(): Promise<void>;
}

export function applyQuota(server: QuotaHost): ApplyQuota {
  return {
    exceeds(req) {
      if (!('put' in req || 'txn' in req || 'leaseGrant' in req)) return false;
      return !quotaAvailable(server.backendSizeBytes, server.config.quotaBackendBytes, req);
    },
    async raise() {
      if (server.alarms.has(proto.AlarmType.NOSPACE)) return;
      server.config.logger.warn('write exceeded the backend quota; raising the NOSPACE alarm');
      await server
        .propose({ alarm: { action: proto.AlarmAction.ACTIVATE, memberID: server.memberId, alarm: proto.AlarmType.NOSPACE } })
        .catch(() => undefined);
    },
  };
}
