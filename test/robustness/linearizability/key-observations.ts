/**
 * Every record a linearizable read saw, per key, to rule out revisions for an unknown write no
 * matter what else happened in between. A read at revision r that saw key k with
 * (createRevision c, modRevision m, version v) says: nothing wrote k in (m, r]; the write at m
 * left exactly that record; and k lived without a break from c to m, put v times. Records only
 * get newer, so no unknown operations in between can undo any of that.
 */
import type { KeyValueSeen, Operation } from '../history.js';
import { type KeyRecord, kvMatches } from './etcd-model.js';

/** One record some read saw, and the newest revision any read saw it at. */
interface SeenRecord {
  readonly kv: KeyValueSeen;
  lastSeenAt: number;
}

interface KeyHistory {
  /** Seen records in modRevision order. */
  readonly records: SeenRecord[];
  /** latestSeenUpTo[i]: the newest revision any of records[0..i] was seen at. */
  readonly latestSeenUpTo: number[];
  /** Revisions of the ok puts (plain or in a txn) that wrote the key, ascending. */
  readonly putRevisions: number[];
}

/** The index of the first element > revision (or the length). */
export function firstAfter(sorted: readonly number[], revision: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as number) <= revision) low = middle + 1;
    else high = middle;
  }
  return low;
}

export class KeyObservations {
  private readonly byKey = new Map<string, KeyHistory>();

  constructor(ops: readonly Operation[]) {
    const records = new Map<string, Map<number, SeenRecord>>();
    const puts = new Map<string, number[]>();
    const addPut = (key: string, revision: number): void => {
      const list = puts.get(key) ?? [];
      list.push(revision);
      puts.set(key, list);
    };
    for (const op of ops) {
      if (op.outcome.status !== 'ok') continue;
      const { request } = op;
      const response = op.outcome.response;
      if (request.type === 'put') addPut(request.key, response.revision);
      if (request.type === 'txn' && response.type === 'txn') {
        for (const txnOp of response.succeeded ? request.success : request.failure) if (txnOp.type === 'put') addPut(txnOp.key, response.revision);
      }
      // Txn gets are left out: they may see the txn's own earlier writes.
      if (request.type !== 'range' || response.type !== 'range') continue;
      for (const kv of response.kvs) {
        const byMod = records.get(kv.key) ?? new Map<number, SeenRecord>();
        records.set(kv.key, byMod);
        const known = byMod.get(kv.modRevision);
        if (known === undefined) byMod.set(kv.modRevision, { kv, lastSeenAt: response.revision });
        else known.lastSeenAt = Math.max(known.lastSeenAt, response.revision);
      }
    }
    for (const [key, byMod] of records) {
      const sorted = [...byMod.values()].sort((a, b) => a.kv.modRevision - b.kv.modRevision);
      const latestSeenUpTo: number[] = [];
      let latest = -Infinity;
      for (const record of sorted) latestSeenUpTo.push((latest = Math.max(latest, record.lastSeenAt)));
      this.byKey.set(key, { records: sorted, latestSeenUpTo, putRevisions: (puts.get(key) ?? []).sort((a, b) => a - b) });
    }
  }

  /**
   * Whether an unknown write that took `revision` and left `written` (each key it changed,
   * with its new record or undefined when deleted) contradicts a record some read saw.
   */
  contradicts(revision: number, written: ReadonlyMap<string, KeyRecord | undefined>): boolean {
    for (const [key, record] of written) {
      const history = this.byKey.get(key);
      if (history !== undefined && this.contradictsKey(history, revision, record)) return true;
    }
    return false;
  }

  private contradictsKey(history: KeyHistory, revision: number, record: KeyRecord | undefined): boolean {
    const { records, latestSeenUpTo, putRevisions } = history;
    // Records are sorted by modRevision; find the first one written at or after `revision`.
    let low = 0;
    let high = records.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((records[middle] as SeenRecord).kv.modRevision < revision) low = middle + 1;
      else high = middle;
    }
    // An older record seen at `revision` or later: nothing can have written the key here.
    if (low > 0 && (latestSeenUpTo[low - 1] as number) >= revision) return true;
    const next = records[low];
    if (next === undefined) return false;
    const { kv } = next;
    // The write at `revision` left a record someone saw: it must be this one.
    if (kv.modRevision === revision) return record === undefined || !kvMatches(kv, kv.key, record);
    if (kv.createRevision > revision) return false;
    // The key lived from its createRevision through `revision` to the record's modRevision, with
    // one version per put: this write must keep that createRevision and leave room for the
    // known puts after it.
    if (record === undefined || record.createRevision !== kv.createRevision) return true;
    const knownPutsAfter = firstAfter(putRevisions, kv.modRevision) - firstAfter(putRevisions, revision);
    return record.version + knownPutsAfter > kv.version;
  }
}
