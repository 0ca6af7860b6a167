// A burst of concurrent writes on one member: the applier runs plain KV writes in shared backend
// commits, so this checks what a client must still see: every write answered once with its own
// result, one revision per changing write with no gaps, a failing request (unknown lease)
// answered with etcd's error without taking the writes around it down, and a state that is the
// writes replayed in revision order.
import { describe, expect, it } from 'vitest';
import { call, failure, num, useMembers } from '../concurrency/helpers.js';

describe('a burst of concurrent writes on one member', () => {
  const members = useMembers(1);

  it('answers each write with its own revision and result; a bad lease fails alone', async () => {
    const { kv } = members()[0]!;
    const start = num((await call(kv, 'Put', { key: Buffer.from('burst/start'), value: Buffer.from('x') })).header!.revision);
    const key = (i: number) => Buffer.from(`burst/k${i % 17}`);
    const writes = Array.from({ length: 300 }, (_, i) => {
      if (i === 150) return { i, kind: 'bad-lease', p: call(kv, 'Put', { key: key(i), value: Buffer.from(`v${i}`), lease: 0x7fff_0001 }) };
      if (i % 10 === 3) {
        // A read at an explicit revision inside a txn: applied on its own, between batches.
        return { i, kind: 'txn-read', p: call(kv, 'Txn', { compare: [], success: [{ requestRange: { key: key(i), revision: start } }, { requestPut: { key: key(i), value: Buffer.from(`v${i}`) } }], failure: [] }) };
      }
      if (i % 10 === 7) {
        // A compare that always holds (mod revision < 1,000,000), so the put always happens.
        return { i, kind: 'txn', p: call(kv, 'Txn', { compare: [{ key: key(i), target: 2, result: 2, modRevision: 1_000_000 }], success: [{ requestPut: { key: key(i), value: Buffer.from(`v${i}`), prevKv: true } }], failure: [] }) };
      }
      return { i, kind: 'put', p: call(kv, 'Put', { key: key(i), value: Buffer.from(`v${i}`), prevKv: true }) };
    });
    const bad = await failure(writes[150]!.p);
    expect(bad.details).toBe('etcdserver: requested lease not found');
    const good = await Promise.all(writes.filter((w) => w.kind !== 'bad-lease').map(async (w) => ({ ...w, res: (await w.p) as { header?: { revision?: unknown } | null } })));
    const revisions = good.map((w) => num(w.res.header!.revision)).sort((a, b) => a - b);
    // Every write here changes a key, so the revisions are start+1 .. start+299 with none shared.
    expect(revisions).toEqual(Array.from({ length: 299 }, (_, n) => start + 1 + n));
    // Each key holds the value of its write with the highest revision.
    const expected = new Map<string, string>();
    for (const w of [...good].sort((a, b) => num(a.res.header!.revision) - num(b.res.header!.revision))) expected.set(key(w.i).toString(), `v${w.i}`);
    const range = await call(kv, 'Range', { key: Buffer.from('burst/k'), rangeEnd: Buffer.from('burst/l') });
    expect(Object.fromEntries(range.kvs.map((x) => [Buffer.from(x.key).toString(), Buffer.from(x.value).toString()]))).toEqual(Object.fromEntries(expected));
  });
});
