/**
 * What the ok answers pin down revision by revision, to rule out places for an unknown write
 * without searching past them. An ok answer that shows it wrote names the revision it took, so
 * every revision is either taken by such a write or open (an unknown write or a lease revoke
 * may have taken it). Up to the next open revision every write is known, so a key's record can
 * be followed from one write to the next exactly and compared with what linearizable reads at
 * those revisions saw.
 */
import type { KeyValueSeen, KvRequest, KvResponse, Operation } from '../history.js';
import { type KeyRecord, kvMatches, latestRevisionBefore, normalizeLease, rangeIncludes } from './etcd-model.js';
import { compareKeys } from './ordered-map.js';

interface KnownWrite {
  readonly request: KvRequest;
  readonly response: KvResponse;
}

interface KnownRead {
  readonly key: string;
  readonly end: string | undefined;
  readonly kvs: readonly KeyValueSeen[];
}

/** Whether a read's (key-sorted) answer shows `record` for `key`, or no key when it is undefined. */
function shows(kvs: readonly KeyValueSeen[], key: string, record: KeyRecord | undefined): boolean {
  let low = 0;
  let high = kvs.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const kv = kvs[middle] as KeyValueSeen;
    const order = compareKeys(kv.key, key);
    if (order === 0) return record !== undefined && kvMatches(kv, key, record);
    if (order < 0) low = middle + 1;
    else high = middle - 1;
  }
  return record === undefined;
}

function putRecord(previous: KeyRecord | undefined, value: string, lease: string | undefined, revision: number): KeyRecord {
  return {
    value,
    createRevision: previous?.createRevision ?? revision,
    modRevision: revision,
    version: (previous?.version ?? 0) + 1,
    lease: normalizeLease(lease),
  };
}

export class RevisionIndex {
  private readonly writeAt = new Map<number, KnownWrite>();
  private readonly readsAt = new Map<number, KnownRead[]>();

  constructor(ops: readonly Operation[]) {
    for (const op of ops) {
      if (op.outcome.status !== 'ok') continue;
      const { request } = op;
      const response = op.outcome.response;
      if (request.type === 'range' && response.type === 'range') {
        const reads = this.readsAt.get(response.revision) ?? [];
        reads.push({ key: request.key, end: request.end, kvs: response.kvs });
        this.readsAt.set(response.revision, reads);
      } else if (latestRevisionBefore(response) === response.revision - 1 && !this.writeAt.has(response.revision)) {
        // Two ok writes claiming one revision cannot both be linearized, so keeping either is sound.
        this.writeAt.set(response.revision, { request, response });
      }
    }
  }

  /**
   * Whether an unknown write that took `revision` and left `written` (each key it changed,
   * with its new record or undefined when deleted) contradicts a linearizable read made before
   * the next open revision.
   */
  contradicts(revision: number, written: ReadonlyMap<string, KeyRecord | undefined>): boolean {
    const followed = new Map(written);
    for (let at = revision; followed.size > 0; at++) {
      if (at > revision) {
        const write = this.writeAt.get(at);
        if (write === undefined) return false;
        this.follow(write, at, followed);
      }
      for (const read of this.readsAt.get(at) ?? []) {
        for (const [key, record] of followed) if (rangeIncludes(read.key, read.end, key) && !shows(read.kvs, key, record)) return true;
      }
    }
    return false;
  }

  /** Applies a known write at `revision` to the followed keys. */
  private follow(write: KnownWrite, revision: number, followed: Map<string, KeyRecord | undefined>): void {
    const { request, response } = write;
    for (const [key, record] of followed) {
      let current = record;
      if (request.type === 'put') {
        if (request.key === key) current = putRecord(current, request.value, request.lease, revision);
      } else if (request.type === 'delete') {
        // A delete removes every key in its range that exists, so the outcome for a followed key is certain.
        if (rangeIncludes(request.key, request.end, key)) current = undefined;
      } else if (request.type === 'txn' && response.type === 'txn') {
        for (const op of response.succeeded ? request.success : request.failure) {
          if (op.key !== key) continue;
          if (op.type === 'put') current = putRecord(current, op.value, op.lease, revision);
          else if (op.type === 'delete') current = undefined;
        }
      } else {
        // Not a write this index understands: stop following rather than guess.
        followed.delete(key);
        continue;
      }
      followed.set(key, current);
    }
  }
}
