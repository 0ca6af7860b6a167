// Differential check of `kvfleet proxy` against the members behind it, for a kvfleet and a real
// etcd 3.4 cluster: the same seeded workload (puts, deletes, txns, leases, one compaction) is
// written to a member, then every Range variant and Watch asked of a proxy must get the
// member's answer. Proxy A runs through the workload (history in its cache); proxy B is
// restarted after it (all history outside its cache). Replay with KVFLEET_SEED.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { proto, SeededRandom } from '@kvfleet/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { memberClients, prefixEnd, sleep, suiteSeed, waitConverged, type MemberClients } from '../harness/kv-checks.js';
import { proxyAvailable, startProxies, type ProxyFleet } from '../harness/proxy.js';
import { compatTargets } from '../harness/targets.js';
import { useCluster } from '../harness/use-cluster.js';

const seed = suiteSeed();
const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const text = (b: Uint8Array | null | undefined): string => (b ? Buffer.from(b).toString('utf8') : '');
const str = (v: proto.Int64Like | null | undefined): string => proto.int64ToBigInt(v ?? 0).toString();
const num = (v: proto.Int64Like | null | undefined): number => proto.int64ToNumber(v ?? 0, 'int64');
const timeout = (ms = 5_000) => ({ deadline: Date.now() + ms });

/** Fewer than 12 keys: etcd's sort (Go's insertion sort below 12 items) is then stable, so ties order deterministically. */
const KEYS = ['d/a', 'd/b', 'd/c', 'd/d', 'd/e', 'd/x/1', 'd/x/2', 'd/y', 'e/1', 'e/2', 'f'];

type Kv = proto.Decoded<proto.KeyValue>;
const kvOut = (kv: Kv | null | undefined) =>
  kv == null
    ? null
    : { key: text(kv.key), value: text(kv.value), create: str(kv.createRevision), mod: str(kv.modRevision), version: str(kv.version), lease: str(kv.lease) };

type RangeOutcome =
  | { ok: { kvs: ReturnType<typeof kvOut>[]; more: boolean; count: string }; revision: number }
  | { error: { code: number; details: string } };

async function range(kv: proto.ServiceClient<'KV'>, request: proto.Init<proto.RangeRequest>): Promise<RangeOutcome> {
  try {
    const res = await proto.unaryCall(kv.Range.bind(kv), request, undefined, timeout(3_000));
    return { ok: { kvs: res.kvs.map(kvOut), more: res.more, count: str(res.count) }, revision: num(res.header?.revision) };
  } catch (error) {
    const e = error as ServiceError;
    return { error: { code: e.code, details: e.details } };
  }
}

/** The comparable part of a Range answer: header.revision is left out (only the linearizable case checks it, loosely). */
const comparable = (o: RangeOutcome) => ('ok' in o ? o.ok : o.error);

/** A readable form of a request for failure reports. */
function describeRequest(r: proto.Init<proto.RangeRequest>): string {
  return JSON.stringify(r, (_k, v: unknown) => (v instanceof Uint8Array ? JSON.stringify(Buffer.from(v).toString('utf8')) : v));
}

interface Workload {
  /** The revision after each acknowledged write. */
  revisions: number[];
  /** Compacted below this revision. */
  compactedAt: number;
  final: number;
}

/**
 * The seeded operation sequence, written to one member: `before` ops, a physical compaction
 * at a revision in the middle, `after` more ops.
 */
async function runWorkload(rng: SeededRandom, c: MemberClients, before: number, after: number): Promise<Workload> {
  const revisions: number[] = [];
  const leases: string[] = [];
  let n = 0;
  const key = () => utf8(rng.pick(KEYS));
  const value = () => utf8(`v${n}-${'x'.repeat(rng.int(20))}`);
  const op = async (): Promise<number> => {
    n++;
    const roll = rng.int(100);
    if (roll < 40) return num((await proto.unaryCall(c.kv.Put.bind(c.kv), { key: key(), value: value() }, undefined, timeout())).header?.revision);
    if (roll < 50) {
      if (leases.length === 0 || rng.chance(0.3)) {
        const grant = await proto.unaryCall(c.lease.LeaseGrant.bind(c.lease), { TTL: 600 }, undefined, timeout());
        leases.push(str(grant.ID));
      }
      const lease = rng.pick(leases);
      return num((await proto.unaryCall(c.kv.Put.bind(c.kv), { key: key(), value: value(), lease }, undefined, timeout())).header?.revision);
    }
    if (roll < 55 && leases.length > 0) {
      const lease = leases.splice(rng.int(leases.length), 1)[0]!;
      return num((await proto.unaryCall(c.lease.LeaseRevoke.bind(c.lease), { ID: lease }, undefined, timeout())).header?.revision);
    }
    if (roll < 65) return num((await proto.unaryCall(c.kv.DeleteRange.bind(c.kv), { key: key() }, undefined, timeout())).header?.revision);
    if (roll < 73) {
      const [a, b] = [rng.pick(KEYS), rng.pick(KEYS)].sort();
      return num((await proto.unaryCall(c.kv.DeleteRange.bind(c.kv), { key: utf8(a!), rangeEnd: utf8(b!) }, undefined, timeout())).header?.revision);
    }
    if (roll < 77) return num((await proto.unaryCall(c.kv.DeleteRange.bind(c.kv), { key: utf8('d/x/'), rangeEnd: prefixEnd('d/x/') }, undefined, timeout())).header?.revision);
    // etcd refuses a txn that puts and deletes one key: two distinct keys.
    const putKey = key();
    let delKey = key();
    while (Buffer.compare(Buffer.from(delKey), Buffer.from(putKey)) === 0) delKey = key();
    const txn = await proto.unaryCall(
      c.kv.Txn.bind(c.kv),
      {
        compare: [{ result: proto.CompareResult.GREATER, target: proto.CompareTarget.VERSION, key: key(), version: 0 }],
        success: [{ requestPut: { key: putKey, value: value() } }, { requestDeleteRange: { key: delKey } }, { requestRange: { key: key() } }],
        failure: [{ requestPut: { key: key(), value: value() } }],
      },
      undefined,
      timeout(),
    );
    return num(txn.header?.revision);
  };
  for (let i = 0; i < before; i++) revisions.push(await op());
  const compactedAt = revisions[Math.floor(revisions.length / 2)]!;
  await proto.unaryCall(c.kv.Compact.bind(c.kv), { revision: compactedAt, physical: true }, undefined, timeout(10_000));
  for (let i = 0; i < after; i++) revisions.push(await op());
  return { revisions, compactedAt, final: revisions[revisions.length - 1]! };
}

/** The Range requests compared, each at a revision chosen by the caller. */
function rangeVariants(w: Workload): [string, proto.Init<proto.RangeRequest>][] {
  const all = { key: utf8('\0'), rangeEnd: utf8('\0') };
  const mid = w.revisions[Math.floor((w.revisions.length * 3) / 4)]!;
  const out: [string, proto.Init<proto.RangeRequest>][] = [
    ['single key', { key: utf8('d/a') }],
    ['single key (another)', { key: utf8('e/1') }],
    ['missing key', { key: utf8('zz') }],
    ['prefix d/', { key: utf8('d/'), rangeEnd: prefixEnd('d/') }],
    ['prefix d/x/', { key: utf8('d/x/'), rangeEnd: prefixEnd('d/x/') }],
    ['from-key \\0 (whole keyspace)', all],
    ['from-key d/c', { key: utf8('d/c'), rangeEnd: utf8('\0') }],
    ['range [d/b, e/2)', { key: utf8('d/b'), rangeEnd: utf8('e/2') }],
    ['limit 3', { ...all, limit: 3 }],
    ['limit 1 prefix', { key: utf8('d/'), rangeEnd: prefixEnd('d/'), limit: 1 }],
    ['keys_only', { ...all, keysOnly: true }],
    ['count_only', { ...all, countOnly: true }],
    ['count_only + limit 2', { ...all, countOnly: true, limit: 2 }],
    ['min_mod_revision', { ...all, minModRevision: mid }],
    ['max_mod_revision', { ...all, maxModRevision: mid }],
    ['min_create_revision', { ...all, minCreateRevision: mid }],
    ['max_create_revision', { ...all, maxCreateRevision: mid }],
    ['min+max mod revision, limit 2', { ...all, minModRevision: w.compactedAt, maxModRevision: mid, limit: 2 }],
  ];
  for (const order of [proto.SortOrder.NONE, proto.SortOrder.ASCEND, proto.SortOrder.DESCEND]) {
    for (const target of [proto.SortTarget.KEY, proto.SortTarget.VERSION, proto.SortTarget.CREATE, proto.SortTarget.MOD, proto.SortTarget.VALUE]) {
      out.push([`sort order ${order} target ${target}`, { ...all, sortOrder: order, sortTarget: target }]);
      out.push([`sort order ${order} target ${target}, limit 4`, { ...all, sortOrder: order, sortTarget: target, limit: 4 }]);
    }
  }
  return out;
}

/** One event as a line, so a report shows where two lists part. */
function eventLine(e: proto.Decoded<proto.Event>): string {
  const kv = kvOut(e.kv);
  const prev = kvOut(e.prevKv);
  const body = kv === null ? 'no kv' : `${kv.key}@${kv.mod} create=${kv.create} ver=${kv.version} lease=${kv.lease} value=${JSON.stringify(kv.value)}`;
  return `${e.type === proto.EventType.DELETE ? 'DELETE' : 'PUT'} ${body}${prev === null ? '' : ` prev=${prev.key}@${prev.mod}:${JSON.stringify(prev.value)}`}`;
}

/** Where two watch results first differ, briefly. */
function watchDiff(expected: WatchSummary, got: WatchSummary): string {
  const at = expected.events.findIndex((e, i) => got.events[i] !== e);
  const i = at >= 0 ? at : expected.events.length;
  return (
    `${expected.events.length} events expected, ${got.events.length} got; first difference at #${i}: expected ${expected.events[i] ?? '(end)'}, got ${got.events[i] ?? '(end)'}; ` +
    `end expected canceled=${expected.canceled} compact_revision=${expected.compactRevision} reason=${JSON.stringify(expected.cancelReason)}, ` +
    `got canceled=${got.canceled} compact_revision=${got.compactRevision} reason=${JSON.stringify(got.cancelReason)}`
  );
}

interface WatchSummary {
  events: string[];
  canceled: boolean;
  compactRevision: string;
  cancelReason: string;
}

/**
 * Opens one watch and collects what it delivers: until it is canceled, or (with `expected`)
 * until that many events arrived plus a short grace, or else until it has been idle for a while.
 */
function collectWatch(c: MemberClients, create: proto.Init<proto.WatchCreateRequest>, expected?: number): Promise<WatchSummary> {
  return new Promise((resolve) => {
    const summary: WatchSummary = { events: [], canceled: false, compactRevision: '0', cancelReason: '' };
    const call = c.watch.Watch();
    let idle: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(idle);
      clearTimeout(hard);
      call.cancel();
      resolve(summary);
    };
    // The member replays history in a burst; an idle gap means it is done. The proxy gets a count to reach.
    const arm = (ms: number) => {
      clearTimeout(idle);
      idle = setTimeout(done, ms);
    };
    const hard = setTimeout(done, 10_000);
    call.on('error', () => done());
    call.on('data', (res: proto.Decoded<proto.WatchResponse>) => {
      for (const e of res.events) summary.events.push(eventLine(e));
      if (res.canceled) {
        summary.canceled = true;
        summary.compactRevision = str(res.compactRevision);
        summary.cancelReason = res.cancelReason;
        return done();
      }
      if (expected === undefined) arm(800);
      else if (summary.events.length >= expected) arm(300);
    });
    if (expected === undefined) arm(1_500);
    else if (expected === 0) arm(1_000);
    call.write({ createRequest: create });
  });
}

/** Polls a serializable Range on `c` until its header reaches `revision`. */
async function waitRevision(c: MemberClients, revision: number, what: string, timeoutMs = 15_000): Promise<void> {
  const stop = Date.now() + timeoutMs;
  let last: RangeOutcome | undefined;
  for (;;) {
    last = await range(c.kv, { key: utf8('d/'), serializable: true, countOnly: true });
    if ('ok' in last && last.revision >= revision) return;
    if (Date.now() > stop) throw new Error(`${what} did not reach revision ${revision} within ${timeoutMs} ms: ${JSON.stringify(last)}`);
    await sleep(100);
  }
}

const reportLimit = 40;

for (const target of compatTargets()) {
  describe.skipIf(!target.enabled || !proxyAvailable())(`proxy differential against ${target.kind} (seed ${seed}; replay with KVFLEET_SEED=${seed})`, () => {
    const cluster = useCluster({ kind: target.kind, size: 3 });
    let fleet: ProxyFleet | undefined;
    let proxyRoot: string | undefined;
    let failed = false;
    let member: MemberClients;
    let proxyA: MemberClients;
    let proxyB: MemberClients;
    let w: Workload;
    const opened: MemberClients[] = [];
    const open = (url: string) => {
      const c = memberClients(url);
      opened.push(c);
      return c;
    };

    beforeAll(async () => {
      proxyRoot = await mkdtemp(join(tmpdir(), `kvfleet-proxy-diff-${target.kind}-`));
      fleet = await startProxies(cluster(), { count: 2, dataRoot: proxyRoot });
      member = open(cluster().clientUrls[0]!);
      proxyA = open(fleet.clientUrls[0]!);
      const rng = new SeededRandom(seed);
      w = await runWorkload(rng, member, 50 + rng.int(20), 50 + rng.int(20));
      await waitConverged(cluster().clientUrls.map((u) => open(u)), 20_000);
      // B starts with the final state: every historical revision is outside its cache.
      await fleet.proxy(1).restart();
      proxyB = open(fleet.clientUrls[1]!);
      await waitRevision(proxyA, w.final, 'proxy A');
      await waitRevision(proxyB, w.final, 'proxy B');
    }, 60_000);

    beforeEach(({ onTestFailed }) => {
      onTestFailed(() => {
        if (failed || fleet === undefined) return;
        failed = true;
        console.error(`[proxy-differential ${target.kind} seed ${seed}] a test failed; proxy logs follow (kept in ${proxyRoot})\n${fleet.logs()}`);
      });
    });

    afterAll(async () => {
      for (const c of opened) c.close();
      await fleet?.stop();
      if (!failed && proxyRoot !== undefined) await rm(proxyRoot, { recursive: true, force: true });
    }, 30_000);

    it('Range: every variant at every revision answers as the member does', async () => {
      const mid = w.revisions[Math.floor(w.revisions.length * 0.75)]!;
      const recent = w.revisions[w.revisions.length - 3]!;
      const revisions: [string, number][] = [
        ['current (0)', 0],
        ['final', w.final],
        ['recent', recent],
        ['mid', mid],
        ['compaction revision', w.compactedAt],
        ['compacted', w.compactedAt - 1],
        ['compacted (1)', 1],
        ['future', w.final + 1_000],
      ];
      const proxies: [string, MemberClients][] = [
        ['proxy A (history cached)', proxyA],
        ['proxy B (history not cached)', proxyB],
      ];
      const mismatches: string[] = [];
      let compared = 0;
      let slowest = 0;
      const variants = rangeVariants(w);
      // Six variants at a time: sequential linearizable round trips would take most of a minute.
      for (let at = 0; at < variants.length; at += 6) {
        await Promise.all(variants.slice(at, at + 6).flatMap(([variant, base]) => revisions.map(async ([revName, revision]) => {
          const request = { ...base, revision };
          const expected = await range(member.kv, request);
          await Promise.all(
            proxies.flatMap(([proxyName, p]) =>
              [true, false].map(async (serializable) => {
                const started = Date.now();
                const got = await range(p.kv, { ...request, serializable });
                const ms = Date.now() - started;
                slowest = Math.max(slowest, ms);
                compared++;
                const where = `${proxyName} ${serializable ? 'serializable' : 'linearizable'}, ${variant} at ${revName} ${revision}${ms > 1_000 ? ` (answered after ${ms} ms)` : ''}: ${describeRequest({ ...request, serializable })}`;
                try {
                  expect(comparable(got)).toEqual(comparable(expected));
                } catch {
                  mismatches.push(`${where}\n    expected ${JSON.stringify(comparable(expected))}\n    got      ${JSON.stringify(comparable(got))}`);
                  return;
                }
                // Loosely: a linearizable answer is at least as new as the member's state.
                if (!serializable && 'ok' in got && got.revision < w.final) mismatches.push(`${where}\n    header.revision ${got.revision} < ${w.final}`);
              }),
            ),
          );
        })));
      }
      const shown = mismatches.slice(0, reportLimit);
      if (mismatches.length > reportLimit) shown.push(`... and ${mismatches.length - reportLimit} more`);
      console.log(`[proxy-differential ${target.kind} seed ${seed}] ${compared} proxy Range answers compared (final revision ${w.final}, compacted at ${w.compactedAt}); ${mismatches.length} differ; slowest proxy answer ${slowest} ms`);
      expect(shown, `seed ${seed}`).toEqual([]);
    }, 60_000);

    it('Watch: from recent, older and compacted revisions, with prev_kv and filters, the proxy delivers the member\'s events', async () => {
      const starts: [string, number][] = [
        ['recent', w.revisions[w.revisions.length - 5]!],
        ['older', w.revisions[Math.floor(w.revisions.length * 0.6)]!],
        // Not the compaction revision itself: etcd delivers it lossily (tombstones and prev_kv below it are gone).
        ['just after the compaction', w.compactedAt + 1],
        ['compacted', w.compactedAt - 1],
      ];
      const keys: [string, proto.Init<proto.WatchCreateRequest>][] = [
        ['prefix d/', { key: utf8('d/'), rangeEnd: prefixEnd('d/') }],
        ['all keys', { key: utf8('\0'), rangeEnd: utf8('\0') }],
      ];
      const options: [string, proto.Init<proto.WatchCreateRequest>][] = [
        ['plain', {}],
        ['prev_kv', { prevKv: true }],
        ['NOPUT prev_kv', { prevKv: true, filters: [proto.FilterType.NOPUT] }],
        ['NODELETE', { filters: [proto.FilterType.NODELETE] }],
        ['NODELETE prev_kv', { prevKv: true, filters: [proto.FilterType.NODELETE] }],
      ];
      const cases = starts.flatMap(([s, startRevision]) =>
        keys.flatMap(([k, key]) => options.map(([o, opt]) => ({ name: `${k}, ${o}, from ${s} ${startRevision}`, create: { ...key, ...opt, startRevision } }))),
      );
      const mismatches: string[] = [];
      let events = 0;
      await Promise.all(
        cases.map(async ({ name, create }) => {
          const expected = await collectWatch(member, create);
          events += expected.events.length;
          const got = await Promise.all([proxyA, proxyB].map((p) => collectWatch(p, create, expected.events.length)));
          got.forEach((g, i) => {
            try {
              expect(g).toEqual(expected);
            } catch {
              mismatches.push(
                `proxy ${i === 0 ? 'A (history cached)' : 'B (history not cached)'}, ${name}: ${watchDiff(expected, g)}`,
              );
            }
          });
        }),
      );
      console.log(`[proxy-differential ${target.kind} seed ${seed}] ${cases.length} watches x 2 proxies compared (${events} member events)`);
      expect(mismatches.slice(0, reportLimit), `seed ${seed}`).toEqual([]);
    }, 60_000);

    it('a linearizable read through one proxy sees a write acknowledged through the other proxy or a member', async () => {
      const problems: string[] = [];
      for (let i = 0; i < 20; i++) {
        const [writer, writerName] = i % 2 === 0 ? [proxyA, 'proxy A'] : [member, 'a member'];
        const key = `rw/${i}`;
        const put = await proto.unaryCall(writer.kv.Put.bind(writer.kv), { key: utf8(key), value: utf8(`v${i}`) }, undefined, timeout());
        const revision = num(put.header?.revision);
        const read = await range(proxyB.kv, { key: utf8(key) });
        const kv = 'ok' in read ? read.ok.kvs[0] : undefined;
        if (kv?.value !== `v${i}` || kv.mod !== String(revision)) {
          problems.push(`put ${key}=v${i} through ${writerName} acked at ${revision}; linearizable Range through proxy B got ${JSON.stringify(read)}`);
        }
      }
      expect(problems).toEqual([]);
    });

    it("a client's read through a proxy after its own write through it sees the write", async () => {
      const problems: string[] = [];
      for (let i = 0; i < 20; i++) {
        const serializable = i % 2 === 0;
        const key = `own/${i}`;
        const put = await proto.unaryCall(proxyA.kv.Put.bind(proxyA.kv), { key: utf8(key), value: utf8(`v${i}`) }, undefined, timeout());
        const revision = num(put.header?.revision);
        const read = await range(proxyA.kv, { key: utf8(key), serializable });
        const kv = 'ok' in read ? read.ok.kvs[0] : undefined;
        if (kv?.value !== `v${i}` || kv.mod !== String(revision)) {
          problems.push(`put ${key}=v${i} through proxy A acked at ${revision}; ${serializable ? 'serializable' : 'linearizable'} Range through proxy A got ${JSON.stringify(read)}`);
        }
      }
      expect(problems).toEqual([]);
    });
  });
}
