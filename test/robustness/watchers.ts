/**
 * Watch clients for robustness scenarios: each opens one watch (start revision before, at or
 * after the current one; prev_kv, filters and progress notifications chosen at random), records
 * every response, asks for progress now and then, and when its stream breaks resumes on another
 * endpoint from its last revision + 1, as etcd's clients do. The reference watcher is one of
 * these over the whole prefix from the scenario's first revision, on the members.
 */
import { performance } from 'node:perf_hooks';
import { proto, type RandomSource } from '@kvfleet/core';
import { memberClients, type MemberClients } from '../harness/kv-checks.js';
import type { WatchEventSeen, WatchRecord, WatchResponseSeen } from './history.js';
import { num, rangeEnd, seen, text } from './kv-client.js';

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');

export interface WatchSpec {
  readonly key: string;
  readonly end?: string;
  readonly startRevision: number;
  readonly prevKv: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly progressNotify: boolean;
}

function eventSeen(e: proto.Decoded<proto.Event>): WatchEventSeen {
  const kv = e.kv!;
  const base = { type: e.type === proto.EventType.DELETE ? ('delete' as const) : ('put' as const), key: text(kv.key), value: text(kv.value), modRevision: num(kv.modRevision), createRevision: num(kv.createRevision), version: num(kv.version) };
  return e.prevKv ? { ...base, prevKv: seen(e.prevKv) } : base;
}

export type WatchCall = ReturnType<MemberClients['watch']['Watch']>;

interface Cancellable {
  cancel(): void;
}

/** What a recorded watch talks through and times itself by: real gRPC and timers, or the simulator's. */
export interface WatchIo {
  /** A Watch stream to the endpoint at `url`; `close` releases what opening it took. */
  connect(url: string): { readonly call: WatchCall; close(): void };
  /** Milliseconds on the clock the history is recorded on. */
  now(): number;
  setTimeout(fn: () => void, ms: number): Cancellable;
  setInterval(fn: () => void, ms: number): Cancellable;
}

export const REAL_WATCH_IO: WatchIo = {
  connect(url) {
    const clients = memberClients(url);
    return { call: clients.watch.Watch(), close: () => clients.close() };
  },
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms).unref();
    return { cancel: () => clearTimeout(t) };
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms).unref();
    return { cancel: () => clearInterval(t) };
  },
};

/** One recorded watch that survives endpoint failures. */
export class RecordedWatch {
  readonly record: WatchRecord;
  private call: WatchCall | undefined;
  private connection: { close(): void } | undefined;
  private endpointIndex: number;
  private closed = false;
  private ended = false;
  private progressTimer: Cancellable | undefined;
  /** The next revision this watch needs (0 until the created response when it started at 0). */
  private next: number;

  constructor(
    id: number,
    private readonly endpoints: readonly string[],
    first: number,
    readonly spec: WatchSpec,
    private readonly progressEveryMs: number,
    private readonly io: WatchIo = REAL_WATCH_IO,
  ) {
    this.endpointIndex = first % endpoints.length;
    this.next = spec.startRevision;
    this.record = {
      id,
      endpoint: endpoints[this.endpointIndex]!,
      key: spec.key,
      ...(spec.end === undefined ? {} : { end: spec.end }),
      startRevision: spec.startRevision,
      prevKv: spec.prevKv,
      filters: { noPut: spec.noPut, noDelete: spec.noDelete },
      progressNotify: spec.progressNotify,
      responses: [],
      resumedAt: [],
    };
    this.open();
  }

  /** The newest revision this watch has vouched for (events or progress). */
  get lastRevision(): number {
    return this.next - 1;
  }

  /** Canceled by the server (compacted) or closed: it will not move any more. */
  get finished(): boolean {
    return this.ended || this.closed;
  }

  close(): void {
    this.closed = true;
    this.progressTimer?.cancel();
    this.call?.cancel();
    this.connection?.close();
  }

  private open(): void {
    if (this.closed || this.ended) return;
    this.connection?.close();
    const url = this.endpoints[this.endpointIndex]!;
    const { call, close } = this.io.connect(url);
    this.connection = { close };
    this.call = call;
    let broken = false;
    const onBreak = () => {
      if (broken || this.closed || this.ended || this.call !== call) return;
      broken = true;
      this.progressTimer?.cancel();
      call.cancel();
      // Resume elsewhere from the next revision needed, as etcd's clients do.
      this.endpointIndex = (this.endpointIndex + 1) % this.endpoints.length;
      this.record.resumedAt.push(this.record.responses.length);
      this.io.setTimeout(() => this.open(), 200);
    };
    call.on('error', onBreak);
    call.on('end', onBreak);
    call.on('data', (res: proto.Decoded<proto.WatchResponse>) => {
      const revision = num(res.header?.revision);
      const events = res.events.map(eventSeen);
      const seen: WatchResponseSeen = {
        receivedMs: this.io.now(),
        revision,
        events,
        progressNotify: !res.created && !res.canceled && events.length === 0,
        canceled: res.canceled === true,
        compactRevision: num(res.compactRevision),
        created: res.created === true,
      };
      this.record.responses.push(seen);
      if (seen.created && this.next === 0) this.next = revision + 1;
      const lastEvent = events.at(-1)?.modRevision ?? 0;
      if (lastEvent >= this.next) this.next = lastEvent + 1;
      if (seen.progressNotify && revision >= this.next) this.next = revision + 1;
      if (seen.canceled) {
        this.ended = true;
        this.progressTimer?.cancel();
        call.cancel();
      }
    });
    const s = this.spec;
    const filters = [...(s.noPut ? [0] : []), ...(s.noDelete ? [1] : [])];
    call.write({
      createRequest: {
        key: utf8(s.key),
        ...(s.end === undefined ? {} : { rangeEnd: rangeEnd(s.end) }),
        startRevision: this.next,
        prevKv: s.prevKv,
        filters,
        progressNotify: s.progressNotify,
      },
    });
    if (this.progressEveryMs > 0) {
      this.progressTimer = this.io.setInterval(() => call.write({ progressRequest: {} } as unknown as proto.Init<proto.WatchRequest>), this.progressEveryMs);
    }
  }
}

/** A random watch over `prefix` (or one of its keys) starting before, at or after `current`. */
export function randomWatchSpec(rng: RandomSource, prefix: string, end: string, current: number, keys: readonly string[]): WatchSpec {
  const roll = rng.int(3);
  const startRevision = roll === 0 ? Math.max(1, current - rng.int(50)) : roll === 1 ? 0 : current + 1 + rng.int(20);
  const single = rng.chance(0.25);
  return {
    key: single ? keys[rng.int(keys.length)]! : prefix,
    ...(single ? {} : { end }),
    startRevision,
    prevKv: rng.chance(0.5),
    noPut: rng.chance(0.1),
    noDelete: rng.chance(0.1),
    progressNotify: rng.chance(0.5),
  };
}

/** Waits until every watch vouched for `revision` or finished, or `timeoutMs` passed; returns the laggards. */
export async function waitWatchesReach(watches: readonly RecordedWatch[], revision: number, timeoutMs: number): Promise<RecordedWatch[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const behind = watches.filter((w) => !w.finished && w.lastRevision < revision);
    if (behind.length === 0 || Date.now() > until) return behind;
    await new Promise((r) => setTimeout(r, 100));
  }
}
