// Helpers for the integration suites that kill and restart real members: gRPC clients that
// reconnect quickly, puts with deadlines that record what was acknowledged, per-member
// serializable reads, convergence waits, cross-member consistency checks, a seeded PRNG and
// a torn-tail WAL truncation. Generic: they only use the etcd v3 API and the data-dir layout.
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { proto, SeededRandom, type RandomSource } from '@kvfleet/core';
import { wal } from '@kvfleet/server';
import type { Cluster } from './cluster.js';
import { grpcTarget } from './probe.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined): string => (b ? Buffer.from(b).toString('utf8') : '');
const num = (v: proto.Int64Like | null | undefined, field: string): number => proto.int64ToNumber(v ?? 0, field);
const id = (v: proto.Int64Like | null | undefined): string => proto.int64ToBigInt(v ?? 0).toString();

/** The seed for a suite: `KVFLEET_SEED` when set (to replay a failure), else a fresh one. */
export function suiteSeed(): number {
  const fromEnv = process.env.KVFLEET_SEED;
  if (fromEnv !== undefined && fromEnv !== '') return Number(fromEnv) >>> 0;
  return (Date.now() ^ (process.pid << 8)) >>> 0;
}

export function seededRandom(seed: number): SeededRandom {
  return new SeededRandom(seed);
}

/** Channel options: reconnect within ~100-500 ms after a member comes back on the same port. */
const FAST_RECONNECT = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.min_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 500,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
};

export interface MemberClients {
  kv: proto.ServiceClient<'KV'>;
  maintenance: proto.ServiceClient<'Maintenance'>;
  lease: proto.ServiceClient<'Lease'>;
  watch: proto.ServiceClient<'Watch'>;
  close(): void;
}

export function memberClients(clientUrl: string): MemberClients {
  const target = grpcTarget(clientUrl);
  const kv = proto.createClient('KV', target, undefined, FAST_RECONNECT);
  const maintenance = proto.createClient('Maintenance', target, undefined, FAST_RECONNECT);
  const lease = proto.createClient('Lease', target, undefined, FAST_RECONNECT);
  const watch = proto.createClient('Watch', target, undefined, FAST_RECONNECT);
  return {
    kv,
    maintenance,
    lease,
    watch,
    close() {
      kv.close();
      maintenance.close();
      lease.close();
      watch.close();
    },
  };
}

export function clusterClients(cluster: Cluster): MemberClients[] {
  return cluster.clientUrls.map((url) => memberClients(url));
}

const deadline = (ms: number) => ({ deadline: Date.now() + ms });

export async function put(kv: proto.ServiceClient<'KV'>, key: string, value: string, timeoutMs = 3_000, lease?: string): Promise<number> {
  const res = await proto.unaryCall(
    kv.Put.bind(kv),
    { key: utf8(key), value: utf8(value), ...(lease !== undefined ? { lease } : {}) },
    undefined,
    deadline(timeoutMs),
  );
  return num(res.header?.revision, 'revision');
}

export async function deleteKey(kv: proto.ServiceClient<'KV'>, key: string, timeoutMs = 3_000): Promise<{ revision: number; deleted: number }> {
  const res = await proto.unaryCall(kv.DeleteRange.bind(kv), { key: utf8(key) }, undefined, deadline(timeoutMs));
  return { revision: num(res.header?.revision, 'revision'), deleted: num(res.deleted, 'deleted') };
}

export interface KvEntry {
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string;
}

export interface MemberRead {
  revision: number;
  kvs: Map<string, KvEntry>;
}

/** `prefix` + 1 in the last byte: the range end of a prefix. */
export function prefixEnd(prefix: string): Uint8Array {
  const bytes = Buffer.from(prefix, 'utf8');
  const end = Buffer.from(bytes);
  end[end.length - 1]! += 1;
  return end;
}

/** A serializable (member-local) read of every key under `prefix`. */
export async function readPrefix(kv: proto.ServiceClient<'KV'>, prefix: string, serializable = true, timeoutMs = 10_000): Promise<MemberRead> {
  const res = await proto.unaryCall(
    kv.Range.bind(kv),
    { key: utf8(prefix), rangeEnd: prefixEnd(prefix), serializable },
    undefined,
    deadline(timeoutMs),
  );
  const kvs = new Map<string, KvEntry>();
  for (const e of res.kvs) {
    kvs.set(text(e.key), {
      value: text(e.value),
      createRevision: num(e.createRevision, 'createRevision'),
      modRevision: num(e.modRevision, 'modRevision'),
      version: num(e.version, 'version'),
      lease: id(e.lease),
    });
  }
  return { revision: num(res.header?.revision, 'revision'), kvs };
}

/** The member's current revision by a serializable Range (no quorum needed). */
export async function localRevision(kv: proto.ServiceClient<'KV'>, timeoutMs = 2_000): Promise<number> {
  const res = await proto.unaryCall(
    kv.Range.bind(kv),
    { key: utf8('\0kvfleet-integration-probe'), serializable: true, countOnly: true },
    undefined,
    deadline(timeoutMs),
  );
  return num(res.header?.revision, 'revision');
}

export interface MemberStatus {
  memberId: string;
  leader: string;
  raftIndex: number;
  raftAppliedIndex: number;
  raftTerm: number;
}

export async function status(m: proto.ServiceClient<'Maintenance'>, timeoutMs = 2_000): Promise<MemberStatus> {
  const res = await proto.unaryCall(m.Status.bind(m), {}, undefined, deadline(timeoutMs));
  return {
    memberId: id(res.header?.memberId),
    leader: id(res.leader),
    raftIndex: num(res.raftIndex, 'raftIndex'),
    raftAppliedIndex: num(res.raftAppliedIndex, 'raftAppliedIndex'),
    raftTerm: num(res.raftTerm, 'raftTerm'),
  };
}

export async function hashKV(m: proto.ServiceClient<'Maintenance'>, revision = 0, timeoutMs = 5_000): Promise<{ hash: number; revision: number; compactRevision: number }> {
  const res = await proto.unaryCall(m.HashKV.bind(m), { revision }, undefined, deadline(timeoutMs));
  return { hash: res.hash >>> 0, revision: num(res.header?.revision, 'revision'), compactRevision: num(res.compactRevision, 'compactRevision') };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Index of the member that is leader according to the running members' Status answers (a
 * majority-agreed leader id that is one of the members), or undefined. `running` limits the
 * members asked.
 */
export async function findLeader(clients: MemberClients[], running: (i: number) => boolean = () => true, timeoutMs = 15_000): Promise<number> {
  const stop = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const answers = await Promise.all(
      clients.map(async (c, i) => (running(i) ? status(c.maintenance, 1_000).catch((e: Error) => e) : undefined)),
    );
    const ids = answers.map((a) => (a instanceof Error || a === undefined ? undefined : a.memberId));
    for (const a of answers) {
      if (a === undefined || a instanceof Error || a.leader === '0') continue;
      const index = ids.indexOf(a.leader);
      if (index >= 0) {
        const leaderAnswer = answers[index];
        if (leaderAnswer !== undefined && !(leaderAnswer instanceof Error) && leaderAnswer.leader === leaderAnswer.memberId) return index;
      }
    }
    last = answers.map((a) => (a instanceof Error ? a.message : JSON.stringify(a))).join(' | ');
    if (Date.now() >= stop) throw new Error(`no leader found within ${timeoutMs} ms: ${last}`);
    await sleep(100);
  }
}

/**
 * Waits until every member answers a serializable Range with the same revision twice in a
 * row (200 ms apart), and returns that revision.
 */
export async function waitConverged(clients: MemberClients[], timeoutMs = 30_000): Promise<number> {
  const stop = Date.now() + timeoutMs;
  let previous: string | undefined;
  let last = '';
  for (;;) {
    const revs = await Promise.all(clients.map((c) => localRevision(c.kv).catch((e: Error) => `error: ${e.message}`)));
    const key = revs.join(',');
    last = key;
    if (revs.every((r) => typeof r === 'number' && r === revs[0])) {
      if (previous === key) return revs[0] as number;
      previous = key;
    } else {
      previous = undefined;
    }
    if (Date.now() >= stop) throw new Error(`members did not converge within ${timeoutMs} ms; revisions: ${last}`);
    await sleep(200);
  }
}

/** A put that the cluster acknowledged. */
export interface Ack {
  key: string;
  value: string;
  revision: number;
}

export interface WriterStats {
  acked: Ack[];
  failed: number;
  /** Error texts of failed puts, counted (their outcome is unknown). */
  errors: Map<string, number>;
}

/**
 * `count` concurrent writer loops; writer w puts unique keys `<prefix><w>/<n>` through member
 * `w % members` (falling back to no other member: a failed put is simply counted). Returns a
 * stop function resolving with what was acknowledged.
 */
export function startWriters(
  clients: MemberClients[],
  options: { prefix: string; count: number; timeoutMs?: number; pauseAfterErrorMs?: number; valueFor?: (key: string) => string },
): { stop(): Promise<WriterStats>; stats: WriterStats } {
  const stats: WriterStats = { acked: [], failed: 0, errors: new Map() };
  let running = true;
  const valueFor = options.valueFor ?? ((key: string) => `v:${key}`);
  const loops = Array.from({ length: options.count }, async (_, w) => {
    const kv = clients[w % clients.length]!.kv;
    for (let n = 0; running; n++) {
      const key = `${options.prefix}${w}/${n}`;
      const value = valueFor(key);
      try {
        const revision = await put(kv, key, value, options.timeoutMs ?? 3_000);
        stats.acked.push({ key, value, revision });
      } catch (e) {
        stats.failed++;
        const msg = ((e as Error).message ?? String(e)).slice(0, 120);
        stats.errors.set(msg, (stats.errors.get(msg) ?? 0) + 1);
        await sleep(options.pauseAfterErrorMs ?? 50);
      }
    }
  });
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

/** Two acknowledged puts with the same revision (never allowed: each put is its own revision). */
export function duplicateRevisions(acked: readonly Ack[]): string[] {
  const byRevision = new Map<number, Ack>();
  const problems: string[] = [];
  for (const a of acked) {
    const other = byRevision.get(a.revision);
    if (other !== undefined && other.key !== a.key) problems.push(`revision ${a.revision}: ${other.key} and ${a.key}`);
    else byRevision.set(a.revision, a);
  }
  return problems;
}

/**
 * Checks every member against the acknowledged puts (serializable reads of `prefix` on each
 * member) and against each other (revision, HashKV, the full key set under the prefix).
 * Returns a list of problems, empty when all is well.
 */
export async function checkConsistency(clients: MemberClients[], prefix: string, acked: readonly Ack[]): Promise<{ problems: string[]; revision: number; hash: number; keys: number }> {
  const problems: string[] = [];
  const reads = await Promise.all(clients.map((c) => readPrefix(c.kv, prefix)));
  const hashes = await Promise.all(clients.map((c) => hashKV(c.maintenance)));
  reads.forEach((read, i) => {
    let missing = 0;
    let wrong = 0;
    const examples: string[] = [];
    for (const a of acked) {
      const got = read.kvs.get(a.key);
      if (got === undefined) {
        missing++;
        if (examples.length < 5) examples.push(`${a.key} (acked at revision ${a.revision}) is missing`);
      } else if (got.value !== a.value || got.modRevision !== a.revision) {
        wrong++;
        if (examples.length < 5) examples.push(`${a.key}: acked value ${a.value} at revision ${a.revision}, found ${got.value} at mod revision ${got.modRevision}`);
      }
    }
    if (missing + wrong > 0) problems.push(`member ${i}: ${missing} acknowledged keys missing, ${wrong} wrong (${examples.join('; ')})`);
  });
  const revisions = reads.map((r) => r.revision);
  if (!revisions.every((r) => r === revisions[0])) problems.push(`revisions differ: ${revisions.join(', ')}`);
  const hashRevisions = hashes.map((h) => h.revision);
  const hashValues = hashes.map((h) => h.hash);
  if (!hashValues.every((h) => h === hashValues[0]) || !hashRevisions.every((r) => r === hashRevisions[0])) {
    problems.push(`HashKV differs: ${hashes.map((h) => `${h.hash.toString(16)}@${h.revision}`).join(', ')}`);
  }
  for (let i = 1; i < reads.length; i++) {
    const a = reads[0]!.kvs;
    const b = reads[i]!.kvs;
    const diff: string[] = [];
    for (const [k, v] of a) {
      const w = b.get(k);
      if (w === undefined || w.value !== v.value || w.modRevision !== v.modRevision) diff.push(k);
    }
    for (const k of b.keys()) if (!a.has(k)) diff.push(k);
    if (diff.length > 0) problems.push(`members 0 and ${i} hold different data under ${prefix}: ${diff.length} keys differ, e.g. ${diff.slice(0, 5).join(', ')}`);
  }
  for (const d of duplicateRevisions(acked)) problems.push(`two acknowledged puts share ${d}`);
  return { problems, revision: revisions[0]!, hash: hashValues[0]!, keys: reads[0]!.kvs.size };
}

/** The member's output since its latest start (the harness writes a `=== ... starting` line per start). */
export function logSinceLastStart(cluster: Cluster, index: number): string {
  const all = cluster.member(index).log(50_000_000);
  const at = all.lastIndexOf('\n=== ');
  return at >= 0 ? all.slice(at) : all;
}

export type TearMode =
  /** Cut 1..maxCut bytes from inside the last complete record (it may have been acknowledged already). */
  | 'cut-last-record'
  /** Append a prefix of one more record (a write the crash interrupted; never acknowledged). */
  | 'partial-next-record'
  /** Append a few zero bytes (the file grew but the data never reached the disk). */
  | 'zero-fill';

export interface TornTail {
  mode: TearMode;
  segment: string;
  sizeBefore: number;
  sizeAfter: number;
  lastRecordBytes: number;
}

/**
 * Simulates a torn write at the end of the newest WAL segment of a stopped member, in one of
 * three ways (see TearMode). 'cut-last-record' never reaches records before the last one, nor
 * a segment's head records: it returns undefined when the segment holds only its head
 * (metadata and hard state).
 */
export async function tearWalTail(dataDir: string, rng: RandomSource, mode: TearMode, maxCut = 24): Promise<TornTail | undefined> {
  const dir = join(dataDir, 'member', 'wal');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
  const newest = names[names.length - 1];
  if (newest === undefined) throw new Error(`no WAL segment in ${dir}`);
  const path = join(dir, newest);
  const buf = new Uint8Array(await readFile(path));
  const offsets: number[] = [];
  let at = 0;
  while (at < buf.length) {
    const frame = wal.readFrame(buf, at);
    if (frame.kind !== 'ok') break;
    offsets.push(at);
    at = frame.end;
  }
  if (offsets.length <= 2) return undefined;
  const lastStart = offsets[offsets.length - 1]!;
  const lastRecordBytes = at - lastStart;
  const handle = await open(path, 'r+');
  let sizeAfter: number;
  try {
    if (mode === 'cut-last-record') {
      // Anything after the last valid frame is already a torn tail; cut inside the last whole record.
      sizeAfter = at - (1 + rng.int(Math.min(maxCut, lastRecordBytes - 1)));
      await handle.truncate(sizeAfter);
    } else {
      const tail =
        mode === 'partial-next-record'
          ? buf.subarray(lastStart, lastStart + 1 + rng.int(lastRecordBytes - 1))
          : new Uint8Array(1 + rng.int(maxCut));
      await handle.truncate(at);
      await handle.write(tail, 0, tail.length, at);
      sizeAfter = at + tail.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { mode, segment: newest, sizeBefore: buf.length, sizeAfter, lastRecordBytes };
}
