import { describe, expect, it } from 'vitest';
import { PendingRequests } from '../../src/etcdserver/pending-requests.js';

describe('PendingRequests', () => {
  it('ids are unique, safe integers, and carry the prefix', () => {
    const p = new PendingRequests<string>(5);
    const ids = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const { id, done } = p.register();
      done.catch(() => undefined);
      expect(Number.isSafeInteger(id)).toBe(true);
      expect(Math.floor(id / 2 ** 32)).toBe(5);
      ids.add(id);
    }
    expect(ids.size).toBe(1000);
    expect(p.size).toBe(1000);
  });

  it('different prefixes never share ids; the largest prefix stays exact', () => {
    const a = new PendingRequests<number>(1);
    const b = new PendingRequests<number>(2);
    const top = new PendingRequests<number>(2 ** 21 - 1);
    const ids = [a.register().id, b.register().id, a.register().id, b.register().id];
    expect(new Set(ids).size).toBe(4);
    const t = top.register().id;
    expect(Number.isSafeInteger(t)).toBe(true);
    expect(t).not.toBe(0);
  });

  it('settle resolves or rejects the matching waiter only', async () => {
    const p = new PendingRequests<string>(1);
    const one = p.register();
    const two = p.register();
    p.settle(two.id, { ok: true, value: 'second' });
    await expect(two.done).resolves.toBe('second');
    expect(p.size).toBe(1);
    const err = new Error('bad');
    p.settle(one.id, { ok: false, error: err });
    await expect(one.done).rejects.toBe(err);
    expect(p.size).toBe(0);
  });

  it('settling an unknown or already settled id is a no-op', async () => {
    const p = new PendingRequests<string>(1);
    const r = p.register();
    p.settle(r.id + 1000, { ok: true, value: 'nobody' });
    expect(p.size).toBe(1);
    p.settle(r.id, { ok: true, value: 'first' });
    p.settle(r.id, { ok: false, error: new Error('late') });
    await expect(r.done).resolves.toBe('first');
  });

  it('forget drops the waiter: a later settle is ignored and the promise stays pending', async () => {
    const p = new PendingRequests<string>(1);
    const r = p.register();
    let settled = false;
    r.done.then(
      () => (settled = true),
      () => (settled = true),
    );
    p.forget(r.id);
    expect(p.size).toBe(0);
    p.settle(r.id, { ok: true, value: 'x' });
    await new Promise((res) => setTimeout(res, 5));
    expect(settled).toBe(false);
    p.forget(r.id); // twice is fine
  });

  it('a waiter failed before anyone awaits it is no unhandled rejection (found by the member simulator: a member stopping while a proposal waited for a leader crashed its process)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const p = new PendingRequests<string>(3);
      const { done } = p.register();
      p.failAll(new Error('stopping'));
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).toEqual([]);
      await expect(done).rejects.toThrow('stopping');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('failAll rejects every waiter and empties the table', async () => {
    const p = new PendingRequests<string>(3);
    const all = [p.register(), p.register(), p.register()];
    const err = new Error('stopping');
    p.failAll(err);
    expect(p.size).toBe(0);
    for (const r of all) await expect(r.done).rejects.toBe(err);
    // New registrations still work and get fresh ids.
    const next = p.register();
    expect(all.map((r) => r.id)).not.toContain(next.id);
    p.settle(next.id, { ok: true, value: 'ok' });
    await expect(next.done).resolves.toBe('ok');
  });
});
