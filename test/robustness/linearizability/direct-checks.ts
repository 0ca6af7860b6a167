/**
 * Violations that need no search: each check is a necessary condition of linearizability that
 * follows from the revisions in ok answers alone, whatever the unknown operations did. They
 * run before the search because a search that fails late has to rule out every way of placing
 * the unknown operations before it, which can take exponential time; these name the culprits
 * at once.
 */
import type { KvRequest, KvResponse, Operation } from '../history.js';
import { describeOperation } from './describe.js';
import { latestRevisionBefore, rangeIncludes } from './etcd-model.js';
import { firstAfter } from './key-observations.js';

export interface CertainViolation {
  readonly detail: string;
  /** Ids of the operations that contradict each other. */
  readonly ops: number[];
}

interface OkOperation {
  readonly op: Operation;
  readonly response: KvResponse;
}

/** The keys an ok write's answer shows it wrote (for a range delete, the range). */
function touches(request: KvRequest, response: KvResponse, key: string): boolean {
  switch (request.type) {
    case 'put':
      return request.key === key;
    case 'delete':
      return rangeIncludes(request.key, request.end, key);
    case 'txn':
      if (response.type !== 'txn') return false;
      return (response.succeeded ? request.success : request.failure).some((op) => op.type !== 'get' && op.key === key);
    default:
      return false;
  }
}

/** The value an ok write put on `key`, or undefined if it put none there. */
function valuePut(request: KvRequest, response: KvResponse, key: string): string | undefined {
  if (request.type === 'put') return request.key === key ? request.value : undefined;
  if (request.type !== 'txn' || response.type !== 'txn') return undefined;
  let value: string | undefined;
  for (const op of response.succeeded ? request.success : request.failure) if (op.type === 'put' && op.key === key) value = op.value;
  return value;
}

/** An ok operation that returned before another was called must have taken a revision no later than the other's. */
function checkRealTimeOrder(ok: readonly OkOperation[]): CertainViolation | undefined {
  const byReturn = [...ok].sort((a, b) => returnedAt(a.op) - returnedAt(b.op));
  const byCall = [...ok].sort((a, b) => a.op.callMs - b.op.callMs);
  let returned = 0;
  let newest: OkOperation | undefined;
  for (const later of byCall) {
    while (returned < byReturn.length && returnedAt((byReturn[returned] as OkOperation).op) < later.op.callMs) {
      const earlier = byReturn[returned++] as OkOperation;
      if (newest === undefined || earlier.response.revision > newest.response.revision) newest = earlier;
    }
    if (newest !== undefined && newest.response.revision > latestRevisionBefore(later.response)) {
      return {
        detail: [
          `not linearizable: an operation saw an older revision than one that had already returned`,
          `  ${describeOperation(newest.op)}`,
          `returned before this was called, which was applied to revision ${latestRevisionBefore(later.response)} at the latest:`,
          `  ${describeOperation(later.op)}`,
        ].join('\n'),
        ops: [later.op.id, newest.op.id],
      };
    }
  }
  return undefined;
}

function returnedAt(op: Operation): number {
  return Math.max(op.callMs, op.returnMs);
}

/**
 * A record (createRevision c, modRevision m, version v) a read saw at revision r was written by
 * whatever took revision m; the key lived from c to r without a delete, nothing wrote it in
 * (m, r], and it was put v times in [c, m], each time at a revision of its own.
 */
function checkRecordsSeen(ok: readonly OkOperation[]): CertainViolation | undefined {
  const writerAt = new Map<number, OkOperation>();
  for (const entry of ok) {
    if (latestRevisionBefore(entry.response) !== entry.response.revision - 1) continue;
    const claimed = writerAt.get(entry.response.revision);
    if (claimed !== undefined) {
      return {
        detail: [`not linearizable: two writes took revision ${entry.response.revision}`, `  ${describeOperation(claimed.op)}`, `  ${describeOperation(entry.op)}`].join('\n'),
        ops: [claimed.op.id, entry.op.id],
      };
    }
    writerAt.set(entry.response.revision, entry);
  }
  const claimedRevisions = [...writerAt.keys()].sort((a, b) => a - b);

  // Revisions of the known writes that put or deleted each key. Range deletes are matched
  // against each key read; every other write names its keys.
  const namedKeyWrites = new Map<string, KeyWrites>();
  const rangeDeletes: OkOperation[] = [];
  const record = (writes: KeyWrites, writer: OkOperation, key: string): void => {
    const { request } = writer.op;
    if (!touches(request, writer.response, key)) return;
    if (valuePut(request, writer.response, key) === undefined) writes.deletes.push(writer.response.revision);
    else writes.puts.push(writer.response.revision);
  };
  for (const writer of writerAt.values()) {
    const { request } = writer.op;
    if (request.type === 'delete' && request.end !== undefined && request.end !== '') {
      rangeDeletes.push(writer);
      continue;
    }
    const keys = request.type === 'txn' ? [...request.success, ...request.failure].map((op) => op.key) : request.type === 'put' || request.type === 'delete' ? [request.key] : [];
    for (const key of new Set(keys)) {
      const writes = namedKeyWrites.get(key) ?? { puts: [], deletes: [] };
      namedKeyWrites.set(key, writes);
      record(writes, writer, key);
    }
  }
  const writesByKey = new Map<string, KeyWrites>();
  const writesOf = (key: string): KeyWrites => {
    let writes = writesByKey.get(key);
    if (writes === undefined) {
      const named = namedKeyWrites.get(key);
      writes = { puts: [...(named?.puts ?? [])], deletes: [...(named?.deletes ?? [])] };
      for (const writer of rangeDeletes) record(writes, writer, key);
      writes.puts.sort((a, b) => a - b);
      writes.deletes.sort((a, b) => a - b);
      writesByKey.set(key, writes);
    }
    return writes;
  };

  for (const read of ok) {
    if (read.op.request.type !== 'range' || read.response.type !== 'range') continue;
    const revision = read.response.revision;
    const violation = (why: string, other?: number): CertainViolation => {
      const writer = other === undefined ? undefined : writerAt.get(other);
      return {
        detail: [`not linearizable: ${why}`, `  ${describeOperation(read.op)}`, ...(writer === undefined ? [] : [`  ${describeOperation(writer.op)}`])].join('\n'),
        ops: writer === undefined ? [read.op.id] : [read.op.id, writer.op.id],
      };
    };
    for (const kv of read.response.kvs) {
      const key = JSON.stringify(kv.key);
      const { createRevision: created, modRevision: modified, version } = kv;
      if (modified > revision || created > modified || version < 1) {
        return violation(`a read at revision ${revision} saw ${key} created at ${created}, modified at ${modified}, version ${version}`);
      }
      const writer = writerAt.get(modified);
      if (writer !== undefined && valuePut(writer.op.request, writer.response, kv.key) !== kv.value) {
        return violation(`a read saw ${key}=${JSON.stringify(kv.value)} as written at revision ${modified}, which a write of something else took`, modified);
      }
      const creator = writerAt.get(created);
      if (creator !== undefined && valuePut(creator.op.request, creator.response, kv.key) === undefined) {
        return violation(`a read saw ${key} as created at revision ${created}, which a write not putting it took`, created);
      }
      const { puts, deletes } = writesOf(kv.key);
      const overwrite = Math.min(firstIn(puts, modified, revision), firstIn(deletes, modified, revision));
      if (overwrite !== Infinity) {
        return violation(`a read at revision ${revision} saw ${key} as of revision ${modified}, though a write changed it at ${overwrite}`, overwrite);
      }
      const deletion = firstIn(deletes, created, modified);
      if (deletion !== Infinity) return violation(`a read saw ${key} alive from revision ${created} to ${modified}, though a write deleted it at ${deletion}`, deletion);
      const knownPuts = firstAfter(puts, modified) - firstAfter(puts, created - 1);
      const open = modified - created + 1 - (firstAfter(claimedRevisions, modified) - firstAfter(claimedRevisions, created - 1));
      if (version < knownPuts || version > knownPuts + open) {
        return violation(`a read saw ${key} at version ${version}, but between its revisions ${created} and ${modified} it was put ${knownPuts} times by ok writes and at most ${open} times by others`);
      }
    }
  }
  return undefined;
}

interface KeyWrites {
  readonly puts: number[];
  readonly deletes: number[];
}

/** The first revision in `sorted` within (after, upTo], or Infinity. */
function firstIn(sorted: readonly number[], after: number, upTo: number): number {
  const index = firstAfter(sorted, after);
  return index < sorted.length && (sorted[index] as number) <= upTo ? (sorted[index] as number) : Infinity;
}


export function findCertainViolation(ops: readonly Operation[]): CertainViolation | undefined {
  const ok: OkOperation[] = [];
  for (const op of ops) if (op.outcome.status === 'ok' && op.request.type !== 'staleRange') ok.push({ op, response: op.outcome.response });
  return checkRealTimeOrder(ok) ?? checkRecordsSeen(ok);
}
