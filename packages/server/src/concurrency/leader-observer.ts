/**
 * Observing an election (clientv3/concurrency Election.Observe, as etcd's Observe serves it):
 * the current leader, then every new value it proclaims, then — once its key is deleted — the
 * next leader, read afresh. With no leader it waits for the first key put under the prefix.
 *
 * Memory stays bounded for a slow reader: updates go to `send`, which returns false when the
 * reader's buffer is full; the observer then holds back (the leader watch pauses, bounded by
 * the watch stream's queue, and no new leader is read) until {@link LeaderObserver.resume}.
 */
import { prefixEnd } from '@kvfleet/core';
import type { KeyValue } from '../mvcc/kv-record.js';
import type { KvEvent } from '../mvcc/kv-store.js';
import type { ConcurrencyKv, KeyWatch, KeyWatchRequest } from './concurrency-kv.js';
import { firstCreated, recipePrefix } from './kv-requests.js';

export interface LeaderUpdate {
  /** The revision for the response header. */
  readonly revision: number;
  readonly kv: KeyValue;
}

type EventsHandler<T> = (revision: number, events: readonly KvEvent[], done: (value: T) => void) => boolean;

export class LeaderObserver {
  private readonly prefix: Uint8Array;
  private closed = false;
  /** The watch `run` is waiting on, and how to stop waiting for it. */
  private watch: { readonly handle: KeyWatch; readonly cancel: () => void } | undefined;
  /** Set while `run` waits for the reader to make room. */
  private roomWaiter: (() => void) | undefined;

  constructor(
    private readonly kv: ConcurrencyKv,
    name: Uint8Array,
    private readonly send: (update: LeaderUpdate) => boolean,
  ) {
    this.prefix = recipePrefix(name);
  }

  /** Observes until closed; rejects when a read fails (etcd then ends the stream). */
  async run(): Promise<void> {
    while (!this.closed) {
      const read = await this.kv.range(firstCreated(this.prefix));
      if (this.closed) return;
      const first = read.kvs[0];
      const leader = first !== undefined ? { revision: read.revision, kv: first } : await this.firstPut(read.revision + 1);
      // Lost track of the prefix: read again.
      if (leader === undefined) continue;
      if (this.closed) return;
      if (!this.send(leader)) await this.roomToSend();
      await this.followUntilDeleted(leader.kv.key, leader.revision + 1);
    }
  }

  /** The reader has room again. */
  resume(): void {
    this.watch?.handle.resume();
    const waiter = this.roomWaiter;
    this.roomWaiter = undefined;
    waiter?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch?.cancel();
    this.resume();
  }

  /** The first key put under the prefix from `fromRevision`; its mod revision is the header's, as etcd sets it. */
  private firstPut(fromRevision: number): Promise<LeaderUpdate | undefined> {
    const request = { key: this.prefix, rangeEnd: prefixEnd(this.prefix), startRevision: fromRevision };
    return this.watchUntil<LeaderUpdate>(request, (_revision, events, done) => {
      const put = events.find((e) => e.type === 'put');
      if (put !== undefined) done({ revision: put.kv.modRevision, kv: put.kv });
      return true;
    });
  }

  /** Sends each new value of the leader's key until the key is deleted. */
  private async followUntilDeleted(key: Uint8Array, fromRevision: number): Promise<void> {
    await this.watchUntil<true>({ key, startRevision: fromRevision }, (revision, events, done) => {
      let room = true;
      for (const e of events) {
        if (e.type === 'delete') {
          done(true);
          return true;
        }
        room = this.send({ revision, kv: e.kv }) && room;
      }
      return room;
    });
  }

  /**
   * Runs one watch until `onEvents` calls `done` (resolving with its value), or the watch is
   * lost or the observer closes (resolving with undefined).
   */
  private watchUntil<T>(request: KeyWatchRequest, onEvents: EventsHandler<T>): Promise<T | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    return new Promise<T | undefined>((resolve) => {
      let settled = false;
      let handle: KeyWatch | undefined;
      const finish = (value: T | undefined): void => {
        if (settled) return;
        settled = true;
        handle?.close();
        this.watch = undefined;
        resolve(value);
      };
      handle = this.kv.watch(request, {
        events: (revision, events) => (settled ? true : onEvents(revision, events, finish)),
        lost: () => finish(undefined),
      });
      if (settled) handle.close();
      else this.watch = { handle, cancel: () => finish(undefined) };
    });
  }

  private roomToSend(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.roomWaiter = resolve;
    });
  }
}
