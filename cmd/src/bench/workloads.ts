/**
 * The workloads of `kvfleet bench` against any etcd v3 endpoints (members, proxies, etcd):
 * put, range, txn, mixed (closed-loop clients, optionally paced to a total rate), load (every
 * key of the key space written once, in txns of many puts) and watch (watchers spread over
 * streams and over one or many prefixes, a paced writer, latency from each put being issued to
 * each watcher receiving its event).
 */
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { prefixEnd, proto } from '@kvfleet/core';
import { LatencyRecorder, type LatencySummary } from './latency-recorder.js';

export type WorkloadName = 'put' | 'range' | 'txn' | 'mixed' | 'load' | 'watch';

export interface BenchOptions {
  readonly workload: WorkloadName;
  readonly endpoints: readonly string[];
  readonly clients: number;
  readonly connections: number;
  readonly keySize: number;
  readonly valueSize: number;
  /** Distinct keys written or read. */
  readonly keySpace: number;
  /** Total operations per second over all clients; 0 = as fast as they go. */
  readonly rate: number;
  readonly durationMs: number;
  /** Stop after this many operations (0 = by duration). */
  readonly total: number;
  readonly serializable: boolean;
  /** Range: keys per request (1 = a single key; more = a page of a prefix). */
  readonly rangeLimit: number;
  /** Mixed: the share of reads. */
  readonly readRatio: number;
  readonly watchers: number;
  readonly streams: number;
  /** Watch: the watchers are spread over this many sub-prefixes, each write goes to one. */
  readonly prefixes: number;
  /** Load: puts per txn (etcd's default --max-txn-ops is 128). */
  readonly batch: number;
  readonly prefix: string;
  readonly onProgress?: (done: number, elapsedMs: number) => void;
  /** Watch: called once every watcher is created, before the writer starts. */
  readonly onWatchersCreated?: () => void;
}

export interface BenchResult {
  readonly workload: WorkloadName;
  readonly ops: number;
  readonly errors: number;
  readonly errorSamples: Record<string, number>;
  readonly seconds: number;
  readonly throughput: number;
  readonly latencyMs: LatencySummary;
  /** Watch: events delivered to watchers (every write to every watcher) and their rate. */
  readonly deliveries?: number;
  readonly deliveriesPerSecond?: number;
  readonly missedDeliveries?: number;
}

interface Channel {
  readonly kv: proto.ServiceClient<'KV'>;
  readonly watch: proto.ServiceClient<'Watch'>;
  close(): void;
}

function openChannels(options: BenchOptions): Channel[] {
  return Array.from({ length: options.connections }, (_, i) => {
    const target = hostPort(options.endpoints[i % options.endpoints.length]!);
    // A distinct option per connection keeps grpc-js from sharing one TCP connection between them.
    const channelOptions = { 'grpc.max_receive_message_length': -1, 'kvfleet.bench.connection': i };
    const kv = proto.createClient('KV', target, grpc.credentials.createInsecure(), channelOptions);
    const watch = proto.createClient('Watch', target, grpc.credentials.createInsecure(), channelOptions);
    return { kv, watch, close: () => (kv.close(), watch.close()) };
  });
}

function hostPort(endpoint: string): string {
  return endpoint.includes('://') ? new URL(endpoint).host : endpoint;
}

function keyOf(options: BenchOptions, n: number): Buffer {
  const digits = String(n);
  const pad = Math.max(0, options.keySize - options.prefix.length - digits.length);
  return Buffer.from(`${options.prefix}${'0'.repeat(pad)}${digits}`);
}

/** Writes every key of the key space once (so reads find them), `batch` puts per txn. */
export async function prepareKeys(options: BenchOptions): Promise<BenchResult> {
  const channels = openChannels({ ...options, connections: Math.min(options.connections, 8) });
  const value = Buffer.alloc(options.valueSize, 0x61);
  const latency = new LatencyRecorder();
  const errors = new Map<string, number>();
  const batch = Math.max(1, options.batch);
  const started = performance.now();
  let next = 0;
  let written = 0;
  const progress = setInterval(() => options.onProgress?.(written, performance.now() - started), 250);
  await Promise.all(
    Array.from({ length: Math.min(options.clients, 32) }, async (_, c) => {
      const ch = channels[c % channels.length]!;
      for (let first = next; first < options.keySpace; first = next) {
        next = Math.min(options.keySpace, first + batch);
        const success = [];
        for (let n = first; n < next; n++) success.push({ requestPut: { key: keyOf(options, n), value } });
        const t0 = performance.now();
        try {
          await proto.unaryCall(ch.kv.Txn.bind(ch.kv), { compare: [], success, failure: [] } as never);
          latency.record(performance.now() - t0);
          written += success.length;
        } catch (e) {
          countError(errors, e);
        }
      }
    }),
  );
  clearInterval(progress);
  for (const ch of channels) ch.close();
  const seconds = (performance.now() - started) / 1000;
  return finish('load', written, errors, seconds, latency);
}

function countError(errors: Map<string, number>, e: unknown): void {
  const key = ((e as grpc.ServiceError).details ?? (e as Error).message).slice(0, 80);
  errors.set(key, (errors.get(key) ?? 0) + 1);
}

function finish(workload: WorkloadName, ops: number, errors: Map<string, number>, seconds: number, latency: LatencyRecorder): BenchResult {
  const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
  return { workload, ops, errors: errorCount, errorSamples: Object.fromEntries(errors), seconds, throughput: ops / seconds, latencyMs: latency.summary() };
}

class Pacer {
  private readonly start = performance.now();
  private issued = 0;

  constructor(private readonly rate: number) {}

  /** Resolves when the next operation is due (at once without a rate). */
  async next(): Promise<void> {
    if (this.rate <= 0) return;
    const due = this.start + (this.issued++ * 1000) / this.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  if (options.workload === 'watch') return runWatch(options);
  if (options.workload === 'load') return prepareKeys(options);
  const channels = openChannels(options);
  const latency = new LatencyRecorder();
  const errors = new Map<string, number>();
  const pacer = new Pacer(options.rate);
  const value = Buffer.alloc(options.valueSize, 0x62);
  const started = performance.now();
  const deadline = started + options.durationMs;
  let ops = 0;
  let issued = 0;
  const more = () => (options.total > 0 ? issued < options.total : performance.now() < deadline);
  const progress = setInterval(() => options.onProgress?.(ops, performance.now() - started), 250);

  const request = (ch: Channel): Promise<unknown> => {
    const n = Math.floor(Math.random() * options.keySpace);
    const read = options.workload === 'range' || (options.workload === 'mixed' && Math.random() < options.readRatio);
    if (read) {
      const key = options.rangeLimit > 1 ? Buffer.from(options.prefix) : keyOf(options, n);
      const rangeEnd = options.rangeLimit > 1 ? prefixEnd(Buffer.from(options.prefix)) : undefined;
      return proto.unaryCall(ch.kv.Range.bind(ch.kv), { key, rangeEnd, limit: options.rangeLimit > 1 ? options.rangeLimit : 0, serializable: options.serializable });
    }
    if (options.workload === 'txn') {
      const key = keyOf(options, n);
      return proto.unaryCall(ch.kv.Txn.bind(ch.kv), {
        compare: [{ key, target: proto.CompareTarget.MOD, result: proto.CompareResult.GREATER, modRevision: -1 }],
        success: [{ requestPut: { key, value } }],
        failure: [],
      } as never);
    }
    return proto.unaryCall(ch.kv.Put.bind(ch.kv), { key: keyOf(options, n), value });
  };

  await Promise.all(
    Array.from({ length: options.clients }, async (_, c) => {
      const ch = channels[c % channels.length]!;
      while (more()) {
        issued++;
        await pacer.next();
        const t0 = performance.now();
        try {
          await request(ch);
          latency.record(performance.now() - t0);
          ops++;
        } catch (e) {
          countError(errors, e);
        }
      }
    }),
  );
  clearInterval(progress);
  const seconds = (performance.now() - started) / 1000;
  for (const ch of channels) ch.close();
  return finish(options.workload, ops, errors, seconds, latency);
}

/**
 * Watchers over `streams` streams, spread over `prefixes` sub-prefixes of the prefix (one: the
 * prefix itself); a writer at `rate` cycling through the sub-prefixes; latency from put issued
 * to event received. Every write must reach every watcher of its sub-prefix.
 */
async function runWatch(options: BenchOptions): Promise<BenchResult> {
  const channels = openChannels(options);
  const latency = new LatencyRecorder();
  const errors = new Map<string, number>();
  const issuedAt = new Map<string, number>();
  let deliveries = 0;
  const prefixCount = Math.max(1, Math.min(options.prefixes, options.watchers));
  const prefixOf = (p: number) => (prefixCount === 1 ? options.prefix : `${options.prefix}p${String(p)}/`);
  const watchersOn = Array.from({ length: prefixCount }, (_, p) => Math.floor(options.watchers / prefixCount) + (p < options.watchers % prefixCount ? 1 : 0));
  const streams = Array.from({ length: options.streams }, (_, s) => {
    const ch = channels[s % channels.length]!;
    const call = ch.watch.Watch();
    call.on('error', () => undefined);
    return call;
  });
  // Every watcher created before the writer starts, so each must see every write to its prefix.
  let created = 0;
  await new Promise<void>((resolve) => {
    for (const call of streams) {
      call.on('data', (res: proto.Decoded<proto.WatchResponse>) => {
        if (res.created && ++created === options.watchers) resolve();
        const now = performance.now();
        for (const e of res.events) {
          const t0 = issuedAt.get(Buffer.from(e.kv!.value).toString('latin1'));
          if (t0 === undefined) continue;
          latency.record(now - t0);
          deliveries++;
        }
      });
    }
    for (let w = 0; w < options.watchers; w++) {
      const key = Buffer.from(prefixOf(w % prefixCount));
      streams[w % streams.length]!.write({ createRequest: { key, rangeEnd: prefixEnd(key) } });
    }
  });
  options.onWatchersCreated?.();

  const pacer = new Pacer(options.rate > 0 ? options.rate : 500);
  const started = performance.now();
  const deadline = started + options.durationMs;
  let writes = 0;
  let expected = 0;
  const progress = setInterval(() => options.onProgress?.(writes, performance.now() - started), 250);
  const writer = channels[0]!;
  const pending: Promise<void>[] = [];
  while (options.total > 0 ? writes < options.total : performance.now() < deadline) {
    await pacer.next();
    const tag = `w${writes}`;
    const value = Buffer.concat([Buffer.from(tag, 'latin1'), Buffer.alloc(Math.max(0, options.valueSize - tag.length), 0x20)]);
    const p = writes % prefixCount;
    const key = Buffer.from(`${prefixOf(p)}${String(Math.floor(writes / prefixCount) % options.keySpace)}`);
    issuedAt.set(value.toString('latin1'), performance.now());
    writes++;
    pending.push(
      proto.unaryCall(writer.kv.Put.bind(writer.kv), { key, value }).then(
        () => void (expected += watchersOn[p]!),
        (e: unknown) => countError(errors, e),
      ),
    );
    if (pending.length > 1_000) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  // Let the last events arrive.
  const until = performance.now() + 5_000;
  while (deliveries < expected && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  clearInterval(progress);
  const seconds = (performance.now() - started) / 1000;
  for (const s of streams) s.cancel();
  for (const ch of channels) ch.close();
  const result = finish('watch', writes - [...errors.values()].reduce((a, b) => a + b, 0), errors, seconds, latency);
  return { ...result, deliveries, deliveriesPerSecond: deliveries / seconds, missedDeliveries: Math.max(0, expected - deliveries) };
}
