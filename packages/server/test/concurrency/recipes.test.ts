// The recipes under the services, called directly on a member's MemberKv wrapped to count open
// watches: aborting a wait releases its watch and key, a lost watch leads to a fresh read, and
// a slow Observe reader holds the observer back.
import { describe, expect, it } from 'vitest';
import type { ConcurrencyKv, KeyWatch, KeyWatchRequest, KeyWatchSink } from '../../src/concurrency/concurrency-kv.js';
import { campaign } from '../../src/concurrency/election.js';
import { LeaderObserver, type LeaderUpdate } from '../../src/concurrency/leader-observer.js';
import { MemberKv } from '../../src/concurrency/member-kv.js';
import { lock } from '../../src/concurrency/mutex.js';
import { bytes, call, eventually, num, sleep, stillPending, text, useMembers } from './helpers.js';

/** Delegates to a MemberKv and keeps count of watches not yet closed; `loseAll` fakes a compaction. */
class CountingKv implements ConcurrencyKv {
  readonly open = new Set<{ sink: KeyWatchSink; handle: KeyWatch }>();
  watchesOpened = 0;
  reads = 0;
  constructor(private readonly inner: MemberKv) {}
  txn: ConcurrencyKv['txn'] = (req) => this.inner.txn(req);
  deleteKey: ConcurrencyKv['deleteKey'] = (key) => this.inner.deleteKey(key);
  grantLease: ConcurrencyKv['grantLease'] = (ttl) => this.inner.grantLease(ttl);
  range: ConcurrencyKv['range'] = (req) => {
    this.reads++;
    return this.inner.range(req);
  };
  watch(request: KeyWatchRequest, sink: KeyWatchSink): KeyWatch {
    this.watchesOpened++;
    const entry = { sink, handle: undefined as unknown as KeyWatch };
    const inner = this.inner.watch(request, sink);
    entry.handle = {
      resume: () => inner.resume(),
      close: () => {
        this.open.delete(entry);
        inner.close();
      },
    };
    this.open.add(entry);
    return entry.handle;
  }
  loseAll(): void {
    for (const e of [...this.open]) {
      e.handle.close();
      e.sink.lost();
    }
  }
}

describe('concurrency recipes on a member', () => {
  const members = useMembers(1);
  const m = () => members()[0]!;
  const kv = () => new CountingKv(new MemberKv(m().member.server));
  const grant = async (ttl: number) => num((await call(m().lease, 'LeaseGrant', { TTL: ttl })).ID);
  const exists = async (key: string) => (await call(m().kv, 'Range', { key: bytes(key) })).kvs.length === 1;

  it('aborting a waiting lock closes its watch and deletes its key', async () => {
    const store = kv();
    const a = await grant(30);
    const b = await grant(30);
    await lock(store, bytes('r-abort'), a, new AbortController().signal);
    const controller = new AbortController();
    const waiting = lock(store, bytes('r-abort'), b, controller.signal);
    await eventually(async () => store.open.size === 1);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(store.open.size).toBe(0);
    expect(await exists(`r-abort/${b.toString(16)}`)).toBe(false);
    expect(await exists(`r-abort/${a.toString(16)}`)).toBe(true);
  });

  it('a campaign aborted while waiting withdraws and closes its watch', async () => {
    const store = kv();
    const a = await grant(30);
    const b = await grant(30);
    await campaign(store, bytes('r-camp'), a, bytes('A'), new AbortController().signal);
    const controller = new AbortController();
    const waiting = campaign(store, bytes('r-camp'), b, bytes('B'), controller.signal);
    await eventually(async () => store.open.size === 1);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(store.open.size).toBe(0);
    expect(await exists(`r-camp/${b.toString(16)}`)).toBe(false);
  });

  it('a waiter whose watch is lost reads again and keeps waiting, then gets the lock', async () => {
    const store = kv();
    const a = await grant(30);
    const b = await grant(30);
    const held = await lock(store, bytes('r-lost'), a, new AbortController().signal);
    const waiting = lock(store, bytes('r-lost'), b, new AbortController().signal);
    await eventually(async () => store.open.size === 1);
    const reads = store.reads;
    store.loseAll();
    await eventually(async () => store.open.size === 1 && store.watchesOpened === 2);
    expect(store.reads).toBe(reads + 1);
    expect(await stillPending(waiting, 200)).toBe(true);
    await call(m().lock, 'Unlock', { key: held.key });
    expect(text((await waiting).key)).toBe(`r-lost/${b.toString(16)}`);
    expect(store.open.size).toBe(0);
  });

  it('Observe holds back while the reader has no room, and catches up on resume', async () => {
    const store = kv();
    const a = await grant(30);
    const ca = await campaign(store, bytes('r-obs'), a, bytes('v0'), new AbortController().signal);
    const sent: LeaderUpdate[] = [];
    let room = false;
    const observer = new LeaderObserver(store, bytes('r-obs'), (u) => {
      sent.push(u);
      return room;
    });
    const running = observer.run();
    await eventually(async () => sent.length === 1);
    // The first send found no room: no watch is opened until the reader drains.
    await sleep(100);
    expect(store.open.size).toBe(0);
    for (let i = 1; i <= 3; i++) {
      await call(m().election, 'Proclaim', { leader: ca.leader, value: bytes(`v${i}`) });
    }
    expect(sent).toHaveLength(1);
    room = true;
    observer.resume();
    await eventually(async () => sent.length === 4);
    expect(sent.map((u) => text(u.kv.value))).toEqual(['v0', 'v1', 'v2', 'v3']);
    observer.close();
    await running;
    expect(store.open.size).toBe(0);
  });

  it('closing an observer with no leader frees its prefix watch', async () => {
    const store = kv();
    const observer = new LeaderObserver(store, bytes('r-empty'), () => true);
    const running = observer.run();
    await eventually(async () => store.open.size === 1);
    observer.close();
    await running;
    expect(store.open.size).toBe(0);
  });
});
