/**
 * The cluster's alarms (etcd's alarm store): which member raised which alarm. Every member
 * applies the same alarm requests from the Raft log, keeps them in backend bucket `alarm` in
 * the same batch as the entry's consistent index, and recovers them on restart or after
 * loading a snapshot.
 *
 * While NOSPACE is raised, requests that grow the store are refused at apply time on every
 * member (etcd's applierV3Capped); while CORRUPT is raised every write is refused (etcd's
 * applierV3Corrupt). The rule is "an alarm of that type exists", which is what etcd applies
 * after a restart.
 */
import { EtcdError, ETCD_ERRORS, proto } from '@kvfleet/core';
import type { ReadView } from '../backend/backend.js';
import type { KvWriteTxn } from '../mvcc/kv-write-txn.js';
import type { AlarmMember, AlarmRequest, InternalRequest } from '../apply/requests.js';
import { txnQuotaCost } from './quota.js';

export const ALARM_BUCKET = 'alarm';

const NAMES: Record<number, string> = { 0: 'NONE', 1: 'NOSPACE', 2: 'CORRUPT' };

/** etcd prints an AlarmMember in protobuf's compact text form (Status errors, `etcdctl alarm list`). */
export function alarmText(m: AlarmMember): string {
  return `memberID:${BigInt(m.memberID).toString()} alarm:${NAMES[m.alarm] ?? String(m.alarm)} `;
}

function alarmKey(m: AlarmMember): Uint8Array {
  const key = new Uint8Array(9);
  const view = new DataView(key.buffer);
  view.setBigUint64(0, BigInt(m.memberID));
  view.setUint8(8, m.alarm);
  return key;
}

function parseKey(key: Uint8Array): AlarmMember {
  if (key.length !== 9) throw new Error(`corrupt alarm record (${String(key.length)}-byte key)`);
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return { memberID: Number(view.getBigUint64(0)), alarm: view.getUint8(8) };
}

const sameAlarm = (a: AlarmMember, b: AlarmMember): boolean => a.memberID === b.memberID && a.alarm === b.alarm;

export class AlarmStore {
  private alarms: AlarmMember[] = [];

  /** Reloads the alarms from the backend (start, restart, snapshot load). */
  recover(view: ReadView): void {
    this.alarms = view.range(ALARM_BUCKET).map(({ key }) => parseKey(key));
  }

  /** Alarms of `type`, or all of them for NONE: by type, then member id. */
  get(type: number = proto.AlarmType.NONE): AlarmMember[] {
    return this.alarms
      .filter((a) => type === proto.AlarmType.NONE || a.alarm === type)
      .sort((a, b) => a.alarm - b.alarm || a.memberID - b.memberID);
  }

  has(type: number): boolean {
    return this.alarms.some((a) => a.alarm === type);
  }

  /**
   * Applies an alarm request inside the entry's write: GET lists, ACTIVATE adds (a no-op if
   * that member already has that alarm, or for NONE), DEACTIVATE removes (a no-op if absent).
   * Answers etcd's AlarmResponse.alarms; memory changes only once the batch has committed.
   */
  apply(req: AlarmRequest, txn: KvWriteTxn): AlarmMember[] {
    const m = { memberID: req.memberID, alarm: req.alarm };
    switch (req.action) {
      case proto.AlarmAction.GET:
        return this.get(req.alarm);
      case proto.AlarmAction.ACTIVATE: {
        if (m.alarm === proto.AlarmType.NONE || this.alarms.some((a) => sameAlarm(a, m))) return [];
        txn.putAux(ALARM_BUCKET, alarmKey(m), new Uint8Array(0));
        txn.onCommit(() => {
          if (!this.alarms.some((a) => sameAlarm(a, m))) this.alarms.push(m);
        });
        return [m];
      }
      case proto.AlarmAction.DEACTIVATE: {
        if (!this.alarms.some((a) => sameAlarm(a, m))) return [];
        txn.deleteAux(ALARM_BUCKET, alarmKey(m));
        txn.onCommit(() => {
          this.alarms = this.alarms.filter((a) => !sameAlarm(a, m));
        });
        return [m];
      }
      default:
        return [];
    }
  }

  /** The error an entry gets at apply time while an alarm is raised, or undefined to apply it. */
  refusal(req: InternalRequest): EtcdError | undefined {
    if (this.has(proto.AlarmType.CORRUPT) && isCorruptRefused(req)) return new EtcdError(ETCD_ERRORS.ErrGRPCCorrupt);
    if (this.has(proto.AlarmType.NOSPACE)) {
      if ('put' in req || 'leaseGrant' in req) return new EtcdError(ETCD_ERRORS.ErrGRPCNoSpace);
      if ('txn' in req && txnQuotaCost(req.txn) > 0) return new EtcdError(ETCD_ERRORS.ErrGRPCNoSpace);
    }
    return undefined;
  }

  /** Status `errors`: one line per alarm, as etcd. */
  statusErrors(): string[] {
    return this.get().map(alarmText);
  }
}

/** etcd's corrupt applier refuses every client write (alarms and the lessor's own entries still apply). */
function isCorruptRefused(req: InternalRequest): boolean {
  return 'put' in req || 'deleteRange' in req || 'txn' in req || 'compaction' in req || 'leaseGrant' in req || 'leaseRevoke' in req;
}
