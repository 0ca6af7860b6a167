import { describe, expect, it } from 'vitest';
import type { KeyValueSeen, Operation, WatchEventSeen, WatchRecord, WatchResponseSeen } from './history.js';
import { validateWatches, type WatchViolation } from './watch-validator.js';

type Write = readonly ['put', string, string] | readonly ['del', string];

/**
 * A consistent reference history: the i-th argument is revision i + 2 (revision 1 is the empty
 * store), several writes in one argument are one txn. Versions, create revisions and prevKv follow
 * etcd's rules, so tests only spell out keys and values.
 */
function history(...revisions: (readonly Write[])[]): WatchEventSeen[] {
  const kvs = new Map<string, KeyValueSeen>();
  const out: WatchEventSeen[] = [];
  revisions.forEach((writes, i) => {
    const rev = i + 2;
    for (const w of writes) {
      const key = w[1];
      const prev = kvs.get(key);
      const prevKv = prev === undefined ? {} : { prevKv: prev };
      if (w[0] === 'put') {
        const kv: KeyValueSeen = { key, value: w[2], modRevision: rev, createRevision: prev?.createRevision ?? rev, version: (prev?.version ?? 0) + 1, lease: '0' };
        out.push({ type: 'put', key, value: kv.value, modRevision: rev, createRevision: kv.createRevision, version: kv.version, ...prevKv });
        kvs.set(key, kv);
      } else {
        // etcd's delete event carries only the key and the deleting revision.
        out.push({ type: 'delete', key, value: '', modRevision: rev, createRevision: 0, version: 0, ...prevKv });
        kvs.delete(key);
      }
    }
  });
  return out;
}

let clock = 0;
function resp(events: readonly WatchEventSeen[], revision = Math.max(0, ...events.map((e) => e.modRevision))): WatchResponseSeen {
  return { receivedMs: clock++, revision, events, progressNotify: false, canceled: false, compactRevision: 0, created: false };
}
const created = (revision: number): WatchResponseSeen => ({ ...resp([], revision), created: true });
const progress = (revision: number): WatchResponseSeen => ({ ...resp([], revision), progressNotify: true });
const cancel = (revision: number, compactRevision: number): WatchResponseSeen => ({ ...resp([], revision), canceled: true, compactRevision });

function watch(over: Partial<WatchRecord> & Pick<WatchRecord, 'responses'>): WatchRecord {
  return { id: 1, endpoint: 'm1', key: 'a/', end: 'a0', startRevision: 2, prevKv: false, filters: { noPut: false, noDelete: false }, progressNotify: false, resumedAt: [], ...over };
}

/** Reference events at `rev` the predicate keeps, as a watch without prevKv sees them unless `prevKv`. */
function at(ref: readonly WatchEventSeen[], rev: number, keep: (e: WatchEventSeen) => boolean = () => true, prevKv = false): WatchEventSeen[] {
  return ref.filter((e) => e.modRevision === rev && keep(e)).map((e) => (prevKv ? e : bare(e)));
}
function bare(e: WatchEventSeen): WatchEventSeen {
  const { prevKv: _drop, ...rest } = e;
  return rest;
}

function putOp(id: number, key: string, value: string, revision: number): Operation {
  return { id, client: 0, request: { type: 'put', key, value }, callMs: id, returnMs: id + 0.5, outcome: { status: 'ok', response: { type: 'put', revision } } };
}

function kinds(v: readonly WatchViolation[]): string[] {
  return [...new Set(v.map((x) => x.kind))].sort();
}

// The fixture: a prefix "a/" ([a/, a0)) with a txn, a delete, a re-create, a key just past the
// prefix ("a0") and a key outside it ("b/1").
const REF = history(
  [['put', 'a/1', 'v1']], // 2
  [['put', 'b/1', 'v2']], // 3
  [['put', 'a/1', 'v3'], ['put', 'a/2', 'v4'], ['put', 'b/1', 'v5']], // 4 (txn)
  [['del', 'a/1']], // 5
  [['put', 'a/1', 'v6']], // 6 (re-create: version 1, no prevKv)
  [['del', 'a/2'], ['put', 'a0', 'v7']], // 7 (txn)
  [['del', 'b/1']], // 8
  [['put', 'a/3', 'v9']], // 9
);

const OPS: Operation[] = [
  putOp(1, 'a/1', 'v1', 2),
  putOp(2, 'b/1', 'v2', 3),
  {
    id: 3, client: 1, callMs: 3, returnMs: 4,
    request: { type: 'txn', compares: [], success: [{ type: 'put', key: 'a/1', value: 'v3' }, { type: 'put', key: 'a/2', value: 'v4' }, { type: 'put', key: 'b/1', value: 'v5' }], failure: [] },
    outcome: { status: 'ok', response: { type: 'txn', revision: 4, succeeded: true, results: [{ type: 'put' }, { type: 'put' }, { type: 'put' }] } },
  },
  { id: 4, client: 0, callMs: 5, returnMs: 6, request: { type: 'delete', key: 'a/1' }, outcome: { status: 'ok', response: { type: 'delete', revision: 5, deleted: 1 } } },
  putOp(5, 'a/1', 'v6', 6),
  {
    id: 6, client: 1, callMs: 7, returnMs: 8,
    request: { type: 'txn', compares: [{ key: 'a/2', target: 'version', op: '=', against: 0 }], success: [{ type: 'get', key: 'a/2' }], failure: [{ type: 'delete', key: 'a/2' }, { type: 'put', key: 'a0', value: 'v7' }] },
    outcome: { status: 'ok', response: { type: 'txn', revision: 7, succeeded: false, results: [{ type: 'delete', deleted: 1 }, { type: 'put' }] } },
  },
  { id: 7, client: 0, callMs: 9, returnMs: 10, request: { type: 'delete', key: 'b', end: 'c' }, outcome: { status: 'ok', response: { type: 'delete', revision: 8, deleted: 1 } } },
  // Deleted nothing: no revision of its own, so nothing to find at 8.
  { id: 8, client: 1, callMs: 9, returnMs: 10, request: { type: 'delete', key: 'zz' }, outcome: { status: 'ok', response: { type: 'delete', revision: 8, deleted: 0 } } },
  putOp(9, 'a/3', 'v9', 9),
  // Not acknowledged: may or may not have happened.
  { id: 10, client: 2, callMs: 9, returnMs: Infinity, request: { type: 'put', key: 'a/4', value: 'lost' }, outcome: { status: 'unknown', error: 'timeout' } },
];

const puts = (e: WatchEventSeen): boolean => e.type === 'put';
const inA = (e: WatchEventSeen): boolean => e.key.startsWith('a/');

/** The prefix watch with noDelete and prevKv, delivered correctly; tests break it one way each. */
function goodPrefixResponses(): WatchResponseSeen[] {
  const ev = (rev: number) => at(REF, rev, (e) => inA(e) && puts(e), true);
  return [created(1), resp(ev(2)), resp([...ev(4), ...ev(6)]), progress(8), resp(ev(9))];
}
const prefixWatch = (responses: WatchResponseSeen[], over: Partial<WatchRecord> = {}): WatchRecord =>
  watch({ prevKv: true, filters: { noPut: false, noDelete: true }, responses, ...over });

const check = (...watches: WatchRecord[]): WatchViolation[] => validateWatches({ watches, events: REF, operations: OPS });

describe('validateWatches', () => {
  it('passes correct watches: a prefix with noDelete and prevKv, a from-key with noPut, one key from "now"', () => {
    const fromKey = watch({
      id: 2, key: 'a0', end: '\0', startRevision: 0, filters: { noPut: true, noDelete: false },
      // Created at revision 3, so it starts at 4; the deletes ≥ "a0" from there are b/1's at 8.
      responses: [created(3), resp(at(REF, 8)), progress(9)],
    });
    const oneKey = watch({
      id: 3, key: 'a/1', end: undefined, startRevision: 0,
      responses: [created(2), resp(at(REF, 4, (e) => e.key === 'a/1')), resp(at(REF, 5)), resp(at(REF, 6))],
    });
    expect(check(prefixWatch(goodPrefixResponses()), fromKey, oneKey)).toEqual([]);
  });

  it('reports a skipped event as reliable', () => {
    const r = goodPrefixResponses();
    r[2] = resp(at(REF, 4, (e) => inA(e), true)); // revision 6's re-create never arrives
    const v = check(prefixWatch(r));
    expect(kinds(v)).toEqual(['reliable']);
    expect(v[0]!.message).toContain('"a/1"@6');
  });

  it('reports events the watch did not ask for as reliable', () => {
    const r = goodPrefixResponses();
    r.splice(3, 0, resp(at(REF, 7, () => true, true))); // a delete (filtered) and "a0" (outside the prefix)
    expect(check(prefixWatch(r)).map((x) => x.kind)).toEqual(['reliable', 'reliable']);
  });

  it('reports an event before a "from now" watch started as reliable', () => {
    const w = watch({ key: 'a/1', end: undefined, startRevision: 0, responses: [created(4), resp(at(REF, 4, (e) => e.key === 'a/1'))] });
    expect(kinds(check(w))).toEqual(['reliable']);
  });

  it('reports a duplicate as unique', () => {
    const r = goodPrefixResponses();
    r.push(resp(at(REF, 9, inA, true)));
    expect(kinds(check(prefixWatch(r)))).toEqual(['unique']);
  });

  it('reports out-of-order revisions as ordered', () => {
    const r = goodPrefixResponses();
    [r[1], r[2]] = [r[2]!, r[1]!];
    expect(kinds(check(prefixWatch(r)))).toEqual(['ordered']);
  });

  it('reports events of one revision out of reference order as ordered', () => {
    const r = goodPrefixResponses();
    const four = at(REF, 4, (e) => inA(e), true);
    r[2] = resp([four[1]!, four[0]!, ...at(REF, 6, inA, true)]);
    expect(kinds(check(prefixWatch(r)))).toEqual(['ordered']);
  });

  it("reports a txn's events split across responses as atomic", () => {
    const r = goodPrefixResponses();
    const four = at(REF, 4, (e) => inA(e), true);
    r.splice(2, 1, resp([four[0]!]), resp([four[1]!, ...at(REF, 6, inA, true)]));
    const v = check(prefixWatch(r));
    expect(kinds(v)).toEqual(['atomic']);
    expect(v[0]!.message).toContain('revision 4');
  });

  it('reports an event at or below an earlier progress notification as bookmarkable', () => {
    const r = goodPrefixResponses();
    r.splice(2, 0, progress(5)); // claims everything ≤ 5, then revision 4 arrives
    expect(kinds(check(prefixWatch(r)))).toEqual(['bookmarkable']);
  });

  it('reports a progress notification behind delivered events on the same stream as bookmarkable', () => {
    const r = goodPrefixResponses();
    r.splice(3, 0, progress(3)); // after revision 6 was delivered
    expect(kinds(check(prefixWatch(r)))).toEqual(['bookmarkable']);
  });

  it('accepts progress behind delivered events right after a resume (a lagging member answers with its own revision, as etcd)', () => {
    const r = goodPrefixResponses();
    r.splice(3, 0, progress(3));
    const w = prefixWatch(r);
    expect(kinds(check({ ...w, resumedAt: [3] }))).toEqual([]);
  });

  it('reports a wrong, missing, unrequested or create prevKv as prevKv', () => {
    const wrong = goodPrefixResponses();
    const [a1, a2] = at(REF, 4, inA, true);
    wrong[2] = resp([{ ...a1!, prevKv: { ...a1!.prevKv!, value: 'v0' } }, a2!, ...at(REF, 6, inA, true)]);
    expect(kinds(check(prefixWatch(wrong)))).toEqual(['prevKv']);

    const missing = goodPrefixResponses();
    missing[2] = resp([bare(a1!), a2!, ...at(REF, 6, inA, true)]);
    expect(kinds(check(prefixWatch(missing)))).toEqual(['prevKv']);

    const create = goodPrefixResponses();
    create[2] = resp([a1!, a2!, { ...at(REF, 6, inA)[0]!, prevKv: a1!.prevKv! }]);
    expect(kinds(check(prefixWatch(create)))).toEqual(['prevKv']);

    // The same good responses on a watch that did not ask for prevKv.
    expect(kinds(check(prefixWatch(goodPrefixResponses(), { prevKv: false })))).toEqual(['prevKv']);
  });

  it('accepts a prevKv left out once its revision may be compacted, as etcd leaves it out (found by the member simulator)', () => {
    const missing = goodPrefixResponses();
    const [a1, a2] = at(REF, 4, inA, true);
    missing[2] = resp([bare(a1!), a2!, ...at(REF, 6, inA, true)]);
    const compactTo = (revision: number, callMs: number): Operation => ({ id: 900, client: -2, request: { type: 'compact', revision }, callMs, returnMs: callMs + 1, outcome: { status: 'ok', response: { type: 'compact', revision } } });
    const received = missing[2]!.receivedMs;
    const withOps = (op: Operation): WatchViolation[] => validateWatches({ watches: [prefixWatch(missing)], events: REF, operations: [...OPS, op] });
    // Revision 3 (a/1's previous) compacted before the response: nothing to report.
    expect(kinds(withOps(compactTo(4, received - 1)))).toEqual([]);
    // Compacted only after the response, or not as far as revision 3: still a missing prevKv.
    expect(kinds(withOps(compactTo(4, received + 1)))).toEqual(['prevKv']);
    expect(kinds(withOps(compactTo(3, received - 1)))).toEqual(['prevKv']);
  });

  it('reports an event differing from the reference as fields', () => {
    const r = goodPrefixResponses();
    const [nine] = at(REF, 9, inA, true);
    r[4] = resp([{ ...nine!, value: 'other', version: 2 }]);
    const v = check(prefixWatch(r));
    expect(kinds(v)).toEqual(['fields']);
    expect(v[0]!.message).toContain('value "other" != "v9"');
  });

  it('reports an acknowledged put missing from the reference events as reliable-writes', () => {
    const v = validateWatches({ watches: [], events: REF, operations: [...OPS, putOp(11, 'a/5', 'acked', 10)] });
    expect(v).toEqual([{ kind: 'reliable-writes', message: expect.stringContaining('"a/5"="acked" missing') }]);
  });

  it('reports acknowledged writes the reference contradicts as reliable-writes', () => {
    const wrongDeleteCount: Operation = { ...OPS[6]!, outcome: { status: 'ok', response: { type: 'delete', revision: 8, deleted: 2 } } };
    const sharedRevision = putOp(12, 'a/3', 'v9', 9);
    const v = validateWatches({ watches: [], events: REF, operations: [...OPS.slice(0, 6), wrongDeleteCount, ...OPS.slice(7), sharedRevision] });
    expect(v.map((x) => x.kind)).toEqual(['reliable-writes', 'reliable-writes']);
    expect(v[0]!.message).toContain('deleted 2');
    expect(v[1]!.message).toContain('shares its revision with op 9');
  });

  it('accepts a resume after a break that re-delivers nothing and continues', () => {
    const r = goodPrefixResponses();
    r.splice(2, 0, created(3)); // the stream broke after revision 2; re-opened at 3
    expect(check(prefixWatch(r, { resumedAt: [2] }))).toEqual([]);
  });

  it('accepts a revision split exactly at a resume point, but not a re-delivery', () => {
    const four = at(REF, 4, inA, true);
    const split = [created(1), resp(at(REF, 2, inA, true)), resp([four[0]!]), created(4), resp([four[1]!, ...at(REF, 6, inA, true)]), progress(8), resp(at(REF, 9, inA, true))];
    expect(check(prefixWatch(split, { resumedAt: [3] }))).toEqual([]);

    const again = [...split];
    again[4] = resp([...four, ...at(REF, 6, inA, true)]);
    expect(kinds(check(prefixWatch(again, { resumedAt: [3] })))).toEqual(['unique']);
  });

  it('accepts a cancel for compaction past the next needed revision', () => {
    // Saw revision 2, needs 3; 3 is compacted away (compactRevision 4 > 3).
    const w = prefixWatch([created(1), resp(at(REF, 2, inA, true)), cancel(9, 4)]);
    expect(check(w)).toEqual([]);
    // Nothing seen: needs its start revision, 2.
    expect(check(prefixWatch([cancel(9, 3)]))).toEqual([]);
  });

  it('reports a compaction cancel for a revision that is still there as compacted', () => {
    // Observed through 8 (progress), so it needs 9; compactRevision 9 does not compact 9 away.
    const r = goodPrefixResponses().slice(0, 4);
    expect(kinds(check(prefixWatch([...r, cancel(9, 9)])))).toEqual(['compacted']);
  });

  it('reports events after a cancel as compacted, and checks nothing else after it', () => {
    const r = goodPrefixResponses();
    r.splice(2, 0, cancel(9, 4)); // needs 3, compactRevision 4: accepted, yet 4 more events come
    const v = check(prefixWatch(r));
    expect(v).toEqual([{ watchId: 1, kind: 'compacted', message: expect.stringContaining('4 event(s) delivered after the watch was canceled') }]);
  });

  it('matches ranges byte-wise on UTF-8, not by UTF-16 code units', () => {
    // "😀" (F0 9F 98 80) sorts after "\uFFFF" (EF BF BF) in bytes, before it in UTF-16.
    const ref = history([['put', '\uFFFF', 'x']], [['put', '😀', 'y']]);
    const w = (responses: WatchResponseSeen[]): WatchRecord => watch({ key: '\uFFFF', end: '\0', responses });
    const run = (x: WatchRecord) => validateWatches({ watches: [x], events: ref, operations: [] });
    expect(run(w([resp(at(ref, 2)), resp(at(ref, 3))]))).toEqual([]);
    expect(kinds(run(w([resp(at(ref, 2)), progress(3)])))).toEqual(['reliable']);
  });

  it('caps each watch and kind at five violations plus a count', () => {
    const r = goodPrefixResponses();
    for (let i = 0; i < 8; i++) r.push(resp(at(REF, 9, inA, true)));
    const v = check(prefixWatch(r));
    expect(v).toHaveLength(6);
    expect(v[5]).toEqual({ watchId: 1, kind: 'unique', message: "3 more 'unique' violations on watch 1 not shown" });
  });

  it('validates 50,000 events over 200 watches in a few seconds', () => {
    const keys = 1000;
    const writes: Write[][] = [];
    for (let i = 0; i < 50_000; i++) writes.push(i % 10 === 9 ? [['del', `k/${(i - 1) % keys}`]] : [['put', `k/${i % keys}`, `v${i}`]]);
    const ref = history(...writes);
    const operations = ref.filter(puts).map((e, i) => putOp(i, e.key, e.value, e.modRevision));
    // 20 watch everything; the rest a prefix ("k/3" also covers k/30.., k/300..). Responses are
    // built once per range and shared, to keep the setup out of the way.
    const ranges = [{ key: 'k/', end: '\0' }, ...Array.from({ length: 10 }, (_, d) => ({ key: `k/${d}`, end: `k/${String.fromCharCode(49 + d)}` }))];
    const responsesOf = ranges.map(({ key, end }) => {
      const mine = ref.filter((e) => e.key >= key && (end === '\0' || e.key < end)).map(bare);
      const responses = [created(1)];
      for (let i = 0; i < mine.length; i += 50) responses.push(resp(mine.slice(i, i + 50)));
      return responses;
    });
    const watches = Array.from({ length: 200 }, (_, id) => {
      const r = id < 20 ? 0 : 1 + (id % 10);
      return watch({ id, ...ranges[r]!, startRevision: 2, responses: responsesOf[r]! });
    });
    const t0 = performance.now();
    const v = validateWatches({ watches, events: ref, operations });
    const ms = performance.now() - t0;
    expect(v).toEqual([]);
    expect(ms).toBeLessThan(5000);
  });
});
