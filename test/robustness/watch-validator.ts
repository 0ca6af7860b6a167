/**
 * A pure checker for etcd's watch guarantees (ordered, unique, atomic, reliable, bookmarkable,
 * prevKv, per-event fields, compaction cancels) and for "every acknowledged write is in the event
 * history", over what robustness traffic recorded (see history.ts).
 *
 * The reference `events` (one watcher from revision 1 with prev_kv) is ground truth for every
 * revision ≥ its first event's revision; nothing is claimed about revisions before that.
 *
 * Cost is linear in the delivered events plus, per watch, the reference events in the revision
 * span it observed: keys are ranked once in byte order so a range test is two integer compares.
 */
import type { KeyValueSeen, Operation, WatchEventSeen, WatchRecord } from './history.js';

export interface WatchViolation {
  readonly watchId?: number;
  readonly kind: 'ordered' | 'unique' | 'atomic' | 'reliable' | 'bookmarkable' | 'prevKv' | 'fields' | 'compacted' | 'reliable-writes';
  readonly message: string;
}

export interface WatchCheckInput {
  readonly watches: readonly WatchRecord[];
  readonly events: readonly WatchEventSeen[];
  readonly operations: readonly Operation[];
}

type Kind = WatchViolation['kind'];

/** Per watch (or for the writes) and kind; more than this only adds a count, so a broken run stays readable. */
const MAX_PER_KIND = 5;

/** Above this many events in one revision, look keys up through a map instead of scanning. */
const SCAN_LIMIT = 8;

export function validateWatches(input: WatchCheckInput): WatchViolation[] {
  const ref = new Reference(input.events);
  const rep = new Reporter();
  const compactedBy = compactionsOf(input.operations);
  for (const w of input.watches) {
    checkWatch(w, ref, rep, compactedBy);
    rep.flush();
  }
  checkWrites(input.operations, ref, rep);
  rep.flush();
  return rep.out;
}

class Reporter {
  readonly out: WatchViolation[] = [];
  private readonly counts = new Map<string, { watchId: number | undefined; kind: Kind; n: number }>();

  add(watchId: number | undefined, kind: Kind, message: string): void {
    const id = `${watchId ?? '-'}/${kind}`;
    let c = this.counts.get(id);
    if (c === undefined) {
      c = { watchId, kind, n: 0 };
      this.counts.set(id, c);
    }
    c.n++;
    if (c.n <= MAX_PER_KIND) this.out.push(violation(watchId, kind, message));
  }

  /** Appends the "N more" summaries for what has been added since the last flush. */
  flush(): void {
    for (const c of this.counts.values()) {
      if (c.n > MAX_PER_KIND) {
        const where = c.watchId === undefined ? '' : ` on watch ${c.watchId}`;
        this.out.push(violation(c.watchId, c.kind, `${c.n - MAX_PER_KIND} more '${c.kind}' violations${where} not shown`));
      }
    }
    this.counts.clear();
  }
}

function violation(watchId: number | undefined, kind: Kind, message: string): WatchViolation {
  return watchId === undefined ? { kind, message } : { watchId, kind, message };
}

/** The reference history, indexed by revision and by key order. */
class Reference {
  readonly events: readonly WatchEventSeen[];
  /** First revision the reference vouches for; +Infinity when it is empty. */
  readonly first: number;
  /** Per event: the byte-order rank of its key among all reference keys. */
  readonly keyRank: Int32Array;
  private readonly sortedKeys: Buffer[];
  /** Last revision with an event. */
  private readonly last: number;
  /** Per revision - first: [from, to) of its events, or -1; dense because etcd's revisions nearly are. */
  private readonly revFrom: Int32Array | undefined;
  private readonly revTo: Int32Array | undefined;
  private readonly bigRevs = new Map<number, Map<string, number>>();

  constructor(events: readonly WatchEventSeen[]) {
    // The collector delivers in revision order; sort (stably) anyway so a slip there can't make
    // binary searches lie.
    let sorted = true;
    for (let i = 1; i < events.length && sorted; i++) sorted = events[i - 1]!.modRevision <= events[i]!.modRevision;
    this.events = sorted ? events : [...events].sort((a, b) => a.modRevision - b.modRevision);
    this.first = this.events.length > 0 ? this.events[0]!.modRevision : Infinity;

    this.last = this.events.length > 0 ? this.events[this.events.length - 1]!.modRevision : -Infinity;
    // A sparse revision space (not produced by etcd, but possible in hand-made inputs) falls back
    // to binary search rather than allocating per revision.
    const span = this.last - this.first + 1;
    if (this.events.length > 0 && span <= 4 * this.events.length + 1024) {
      this.revFrom = new Int32Array(span).fill(-1);
      this.revTo = new Int32Array(span).fill(-1);
    }
    const keyIds = new Map<string, number>();
    const keyOf: number[] = new Array<number>(this.events.length);
    const keyNames: string[] = [];
    for (let i = 0; i < this.events.length; i++) {
      const e = this.events[i]!;
      if (this.revFrom !== undefined && this.revTo !== undefined) {
        const slot = e.modRevision - this.first;
        if (this.revFrom[slot] === -1) this.revFrom[slot] = i;
        this.revTo[slot] = i + 1;
      }
      let id = keyIds.get(e.key);
      if (id === undefined) {
        id = keyNames.length;
        keyIds.set(e.key, id);
        keyNames.push(e.key);
      }
      keyOf[i] = id;
    }
    const bufs = keyNames.map((k) => Buffer.from(k));
    const order = keyNames.map((_, i) => i).sort((a, b) => Buffer.compare(bufs[a]!, bufs[b]!));
    const rankOfId = new Int32Array(keyNames.length);
    order.forEach((id, rank) => (rankOfId[id] = rank));
    this.sortedKeys = order.map((id) => bufs[id]!);
    this.keyRank = new Int32Array(this.events.length);
    for (let i = 0; i < this.events.length; i++) this.keyRank[i] = rankOfId[keyOf[i]!]!;
  }

  covers(rev: number): boolean {
    return rev >= this.first;
  }

  /** First index of revision rev's events (with `to`, a possibly empty [from, to)). */
  from(rev: number): number {
    if (!(rev >= this.first && rev <= this.last) || !Number.isInteger(rev)) return 0;
    if (this.revFrom === undefined) return this.lowerBound(rev);
    const f = this.revFrom[rev - this.first]!;
    return f < 0 ? 0 : f;
  }

  to(rev: number): number {
    if (!(rev >= this.first && rev <= this.last) || !Number.isInteger(rev)) return 0;
    if (this.revTo === undefined) return this.lowerBound(rev + 1);
    const t = this.revTo[rev - this.first]!;
    return t < 0 ? 0 : t;
  }

  /** Index of the event at (rev, key), or -1. */
  find(rev: number, key: string): number {
    const from = this.from(rev);
    const to = this.to(rev);
    if (to - from <= SCAN_LIMIT) {
      for (let i = from; i < to; i++) if (this.events[i]!.key === key) return i;
      return -1;
    }
    // A big txn or range delete: build its key map once rather than scan it per event.
    let m = this.bigRevs.get(rev);
    if (m === undefined) {
      m = new Map();
      for (let i = to - 1; i >= from; i--) m.set(this.events[i]!.key, i);
      this.bigRevs.set(rev, m);
    }
    return m.get(key) ?? -1;
  }

  /** First index whose revision is ≥ rev. */
  lowerBound(rev: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.modRevision < rev) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The [lo, hi) span of key ranks that the watch range covers. */
  rankRange(r: KeyRange): [number, number] {
    const lo = this.keyLowerBound(r.key);
    if (r.end === undefined) return [lo, lo < this.sortedKeys.length && this.sortedKeys[lo]!.equals(r.key) ? lo + 1 : lo];
    if (r.end === 'fromKey') return [lo, this.sortedKeys.length];
    return [lo, Math.max(lo, this.keyLowerBound(r.end))];
  }

  private keyLowerBound(b: Buffer): number {
    let lo = 0;
    let hi = this.sortedKeys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare(this.sortedKeys[mid]!, b) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** A watch or delete range in bytes: end undefined = one key, 'fromKey' = every key ≥ key. */
interface KeyRange {
  readonly key: Buffer;
  readonly end: Buffer | 'fromKey' | undefined;
}

function keyRange(key: string, end: string | undefined): KeyRange {
  // etcd treats an empty range_end as "just this key" and "\0" as "from this key on".
  const e = end === undefined || end === '' ? undefined : end === '\0' ? 'fromKey' : Buffer.from(end);
  return { key: Buffer.from(key), end: e };
}

function inRange(key: string, r: KeyRange): boolean {
  const b = Buffer.from(key);
  if (r.end === undefined) return b.equals(r.key);
  if (Buffer.compare(b, r.key) < 0) return false;
  return r.end === 'fromKey' || Buffer.compare(b, r.end) < 0;
}

function describeRange(w: WatchRecord): string {
  if (w.end === undefined || w.end === '') return JSON.stringify(w.key);
  return `[${JSON.stringify(w.key)}, ${w.end === '\0' ? '∞' : JSON.stringify(w.end)})`;
}

function ev(e: WatchEventSeen): string {
  return `${e.type} ${JSON.stringify(e.key)}@${e.modRevision}`;
}

/**
 * Whether a compaction to above `revision` may have run before `atMs`: one that was asked for
 * by then and did not fail.
 */
type CompactedBy = (revision: number, atMs: number) => boolean;

function compactionsOf(operations: readonly Operation[]): CompactedBy {
  const compactions: { revision: number; callMs: number }[] = [];
  for (const op of operations) {
    if (op.request.type === 'compact' && op.outcome.status !== 'failed') compactions.push({ revision: op.request.revision, callMs: op.callMs });
  }
  return (revision, atMs) => compactions.some((c) => c.revision > revision && c.callMs <= atMs);
}

function checkWatch(w: WatchRecord, ref: Reference, rep: Reporter, compactedBy: CompactedBy): void {
  const id = w.id;
  const range = keyRange(w.key, w.end);
  const [rankLo, rankHi] = ref.rankRange(range);
  const resumes = new Set(w.resumedAt);

  // Where the watch began: startRevision 0 means "after the revision current at creation", which
  // only the first stream's created response tells (later created responses belong to resumes).
  let start: number | undefined = w.startRevision > 0 ? w.startRevision : undefined;
  if (start === undefined) {
    for (let i = 0; i < w.responses.length && (i === 0 || !resumes.has(i)); i++) {
      if (w.responses[i]!.created) {
        start = w.responses[i]!.revision + 1;
        break;
      }
    }
  }

  const wants = (type: 'put' | 'delete'): boolean => (type === 'put' ? !w.filters.noPut : !w.filters.noDelete);
  const matchesRef = (k: number): boolean => {
    const rank = ref.keyRank[k]!;
    return rank >= rankLo && rank < rankHi && wants(ref.events[k]!.type);
  };

  // Per reference event: 1 + the response that delivered it, 0 if none yet. Events the
  // reference lacks are tracked by "rev\nkey", and their revision's last response.
  const deliveredIn = new Int32Array(ref.events.length);
  let deliveredOther: Set<string> | undefined;
  let otherRevResp: Map<number, number> | undefined;
  // Per response: the resumes before it, since a split across a client re-open is allowed.
  const segOf = new Int32Array(w.responses.length);
  const splitReported = new Set<number>();
  let prevRev = NaN; // the previously delivered event, for the common same-revision case
  let prevResp = -1;

  let seg = 0;
  let hiRev = 0; // high-water position of delivered events: (hiRev, hiK)
  let hiK = -1;
  let lastEventRev = 0;
  /** The newest event on the current stream: a stream resumed on a lagging member may report progress below it (as etcd does). */
  let streamLastEventRev = 0;
  let firstEventRev: number | undefined;
  let maxProgress = 0;
  let lastObserved = 0;
  let canceledAt = -1;
  let canceledByCompaction = false;
  let afterCancel = 0; // events delivered while canceled, and the first such cancel
  let afterCancelOf = -1;

  for (let i = 0; i < w.responses.length; i++) {
    const r = w.responses[i]!;
    if (resumes.has(i)) {
      seg++;
      streamLastEventRev = 0;
      // The client re-opened a stream that etcd canceled for another reason (e.g. no leader): the
      // watch goes on. After a compaction cancel there is nothing to resume from.
      if (canceledAt >= 0 && !canceledByCompaction) canceledAt = -1;
    }
    segOf[i] = seg;
    if (canceledAt >= 0) {
      if (r.events.length > 0 && afterCancelOf < 0) afterCancelOf = canceledAt;
      afterCancel += r.events.length;
      continue;
    }

    for (const e of r.events) {
      const rev = e.modRevision;
      const k = ref.covers(rev) ? ref.find(rev, e.key) : -1;

      // unique: a re-delivery is reported once, as that, and not also as disorder.
      if (k >= 0) {
        if (deliveredIn[k] !== 0) {
          rep.add(id, 'unique', `${ev(e)} delivered again in response ${i}`);
          continue;
        }
        deliveredIn[k] = i + 1;
      } else {
        const tag = `${rev}\n${e.key}`;
        deliveredOther ??= new Set();
        if (deliveredOther.has(tag)) {
          rep.add(id, 'unique', `${ev(e)} delivered again in response ${i}`);
          continue;
        }
        deliveredOther.add(tag);
      }

      // ordered: position in the reference order (revision, then order within the revision).
      // Same-revision events split in order across responses are an 'atomic' matter, not this.
      if (rev < hiRev || (rev === hiRev && k >= 0 && hiK >= 0 && k < hiK)) {
        rep.add(id, 'ordered', `${ev(e)} in response ${i} after an event at revision ${hiRev}`);
      } else {
        hiRev = rev;
        hiK = k;
      }

      // atomic: all of a revision's events in one response, unless the client re-opened between.
      // The latest earlier response with this revision: the previous event's when contiguous,
      // else a scan of the revision's (usually few) reference events, once per revision run.
      let before = -1;
      if (rev === prevRev) before = prevResp;
      else {
        if (ref.covers(rev)) {
          for (let j = ref.from(rev), to = ref.to(rev); j < to; j++) if (j !== k && deliveredIn[j]! - 1 > before) before = deliveredIn[j]! - 1;
        }
        const o = otherRevResp?.get(rev);
        if (o !== undefined && o > before) before = o;
      }
      if (before >= 0 && before !== i && segOf[before] === seg && !splitReported.has(rev)) {
        rep.add(id, 'atomic', `revision ${rev} split across responses ${before} and ${i}`);
        splitReported.add(rev);
      }
      if (k < 0) (otherRevResp ??= new Map()).set(rev, i);
      prevRev = rev;
      prevResp = i;

      if (rev <= maxProgress) {
        rep.add(id, 'bookmarkable', `${ev(e)} in response ${i} after a progress notification at revision ${maxProgress}`);
      }

      // reliable (extra events): only what the watch asked for, from where it started.
      const refE = k >= 0 ? ref.events[k]! : undefined;
      const keyOk = k >= 0 ? ref.keyRank[k]! >= rankLo && ref.keyRank[k]! < rankHi : inRange(e.key, range);
      if (!keyOk) rep.add(id, 'reliable', `${ev(e)} is outside the watched range ${describeRange(w)}`);
      else if (!wants(refE?.type ?? e.type)) rep.add(id, 'reliable', `${ev(e)} delivered despite the ${refE?.type ?? e.type} filter`);
      else if (start !== undefined && rev < start) rep.add(id, 'reliable', `${ev(e)} is before the watch's start revision ${start}`);

      if (refE !== undefined) checkFields(id, e, refE, rep);
      else if (ref.covers(rev)) rep.add(id, 'fields', `${ev(e)} is not in the reference history`);
      checkPrevKv(w, e, refE, rep, compactedBy(rev - 1, r.receivedMs));

      if (rev > lastEventRev) lastEventRev = rev;
      if (rev > streamLastEventRev) streamLastEventRev = rev;
      if (rev > lastObserved) lastObserved = rev;
      firstEventRev ??= rev;
    }

    if (r.progressNotify && r.events.length === 0) {
      if (r.revision < streamLastEventRev) {
        rep.add(id, 'bookmarkable', `progress notification at revision ${r.revision} in response ${i} after an event at revision ${streamLastEventRev} on the same stream`);
      }
      if (r.revision > maxProgress) maxProgress = r.revision;
      if (r.revision > lastObserved) lastObserved = r.revision;
    }

    if (r.canceled) {
      canceledAt = i;
      if (r.compactRevision > 0) {
        canceledByCompaction = true;
        // The next revision it needed: after what it observed, else where it started. Unknown for
        // a "from now" watch with no created response: etcd can't compact past "now", so pass it.
        const next = lastObserved > 0 ? Math.max(lastObserved + 1, start ?? 0) : start;
        if (next !== undefined && !(r.compactRevision > next)) {
          rep.add(id, 'compacted', `canceled with compactRevision ${r.compactRevision} in response ${i}, but revision ${next} (the next it needed) is not compacted`);
        }
      }
    }
  }

  if (afterCancel > 0) rep.add(id, 'compacted', `${afterCancel} event(s) delivered after the watch was canceled in response ${afterCancelOf}`);

  // reliable (missing events): every matching reference event from start through what it observed.
  const from = Math.max(start ?? firstEventRev ?? Infinity, ref.first);
  if (from <= lastObserved) {
    const to = ref.lowerBound(lastObserved + 1);
    for (let k = ref.lowerBound(from); k < to; k++) {
      if (deliveredIn[k] === 0 && matchesRef(k)) {
        rep.add(id, 'reliable', `missed ${ev(ref.events[k]!)} (watch ${describeRange(w)} observed up to revision ${lastObserved})`);
      }
    }
  }
}

function checkFields(id: number, e: WatchEventSeen, refE: WatchEventSeen, rep: Reporter): void {
  if (e.type === refE.type && e.value === refE.value && e.createRevision === refE.createRevision && e.version === refE.version) return;
  const diffs: string[] = [];
  if (e.type !== refE.type) diffs.push(`type ${e.type} != ${refE.type}`);
  if (e.value !== refE.value) diffs.push(`value ${JSON.stringify(e.value)} != ${JSON.stringify(refE.value)}`);
  if (e.createRevision !== refE.createRevision) diffs.push(`createRevision ${e.createRevision} != ${refE.createRevision}`);
  if (e.version !== refE.version) diffs.push(`version ${e.version} != ${refE.version}`);
  if (diffs.length > 0) rep.add(id, 'fields', `${ev(e)}: ${diffs.join(', ')} (got != reference)`);
}

/** `prevCompacted`: the event's previous revision may have been compacted before the watch got it. */
function checkPrevKv(w: WatchRecord, e: WatchEventSeen, refE: WatchEventSeen | undefined, rep: Reporter, prevCompacted: boolean): void {
  if (!w.prevKv) {
    if (e.prevKv !== undefined) rep.add(w.id, 'prevKv', `${ev(e)} carries a prevKv the watch did not ask for`);
    return;
  }
  const base = refE ?? e;
  const isCreate = base.type === 'put' && base.version === 1;
  if (isCreate) {
    if (e.prevKv !== undefined) rep.add(w.id, 'prevKv', `${ev(e)} creates the key but carries prevKv ${kvText(e.prevKv)}`);
    return;
  }
  // Without a reference prevKv (none recorded, e.g. its previous revision was compacted when the
  // reference read it) there is nothing trustworthy to compare against.
  const want = refE?.prevKv;
  if (want === undefined) return;
  // etcd reads prev_kv at the event's revision - 1 and leaves it out once that is compacted.
  if (e.prevKv === undefined) {
    if (!prevCompacted) rep.add(w.id, 'prevKv', `${ev(e)} lacks prevKv; reference has ${kvText(want)}`);
  }
  else if (!kvEqual(e.prevKv, want)) rep.add(w.id, 'prevKv', `${ev(e)} prevKv ${kvText(e.prevKv)} != reference ${kvText(want)}`);
}

function kvEqual(a: KeyValueSeen, b: KeyValueSeen): boolean {
  return a.key === b.key && a.value === b.value && a.modRevision === b.modRevision && a.createRevision === b.createRevision && a.version === b.version && a.lease === b.lease;
}

function kvText(kv: KeyValueSeen): string {
  return `{${JSON.stringify(kv.key)}=${JSON.stringify(kv.value)} mod ${kv.modRevision} create ${kv.createRevision} v${kv.version} lease ${kv.lease}}`;
}

/** What one acknowledged write must have produced at its revision. */
interface Effects {
  readonly puts: { key: string; value: string }[];
  readonly deletes: string[];
  readonly ranges: { range: KeyRange; key: string; end: string; count: number }[];
  /** False when some effect's size is unknown, so the revision's event count can't be checked. */
  exact: boolean;
}

function effectsOf(op: Operation): { revision: number; fx: Effects } | undefined {
  if (op.outcome.status !== 'ok') return undefined;
  const req = op.request;
  const res = op.outcome.response;
  const fx: Effects = { puts: [], deletes: [], ranges: [], exact: true };
  if (req.type === 'put' && res.type === 'put') {
    fx.puts.push({ key: req.key, value: req.value });
  } else if (req.type === 'delete' && res.type === 'delete') {
    // Deleting nothing makes no revision; the header then carries the current one.
    if (res.deleted === 0) return undefined;
    if (req.end === undefined || req.end === '') fx.deletes.push(req.key);
    else fx.ranges.push({ range: keyRange(req.key, req.end), key: req.key, end: req.end, count: res.deleted });
  } else if (req.type === 'txn' && res.type === 'txn') {
    const branch = res.succeeded ? req.success : req.failure;
    branch.forEach((t, i) => {
      if (t.type === 'put') fx.puts.push({ key: t.key, value: t.value });
      else if (t.type === 'delete') {
        const result = res.results[i];
        if (result?.type === 'delete') {
          if (result.deleted > 0) fx.deletes.push(t.key);
        } else fx.exact = false;
      }
    });
    // A txn that changed nothing makes no revision either.
    if (fx.puts.length === 0 && fx.deletes.length === 0) return undefined;
  } else {
    return undefined;
  }
  return { revision: res.revision, fx };
}

function checkWrites(ops: readonly Operation[], ref: Reference, rep: Reporter): void {
  const claimed = new Map<number, number>();
  for (const op of ops) {
    const w = effectsOf(op);
    if (w === undefined || !ref.covers(w.revision)) continue;
    const { revision: rev, fx } = w;
    const what = `op ${op.id} (${op.request.type}) at revision ${rev}`;

    // Every write makes its own revision, so two acknowledged writes can't share one.
    const other = claimed.get(rev);
    if (other !== undefined) rep.add(undefined, 'reliable-writes', `${what} shares its revision with op ${other}`);
    else claimed.set(rev, op.id);

    // Count mismatches only when each effect was found, so one lost put reads as one violation.
    let allFound = true;
    for (const p of fx.puts) {
      const k = ref.find(rev, p.key);
      const e = k >= 0 ? ref.events[k]! : undefined;
      if (e === undefined || e.type !== 'put' || e.value !== p.value) {
        allFound = false;
        rep.add(undefined, 'reliable-writes', `${what}: put ${JSON.stringify(p.key)}=${JSON.stringify(p.value)} missing from the reference events${e ? ` (found ${e.type} ${JSON.stringify(e.value)})` : ''}`);
      }
    }
    for (const key of fx.deletes) {
      const k = ref.find(rev, key);
      if (k < 0 || ref.events[k]!.type !== 'delete') {
        allFound = false;
        rep.add(undefined, 'reliable-writes', `${what}: delete ${JSON.stringify(key)} missing from the reference events`);
      }
    }
    const from = ref.from(rev);
    const to = ref.to(rev);
    for (const d of fx.ranges) {
      const [lo, hi] = ref.rankRange(d.range);
      let n = 0;
      for (let k = from; k < to; k++) if (ref.events[k]!.type === 'delete' && ref.keyRank[k]! >= lo && ref.keyRank[k]! < hi) n++;
      if (n !== d.count) {
        allFound = false;
        rep.add(undefined, 'reliable-writes', `${what}: deleted ${d.count} in [${JSON.stringify(d.key)}, ${d.end === '\0' ? '∞' : JSON.stringify(d.end)}) but the reference has ${n} delete events there`);
      }
    }
    if (fx.exact && allFound) {
      const want = fx.puts.length + fx.deletes.length + fx.ranges.reduce((s, d) => s + d.count, 0);
      if (to - from !== want) rep.add(undefined, 'reliable-writes', `${what}: wrote ${want} key(s) but the reference has ${to - from} event(s) at that revision`);
    }
  }
}
