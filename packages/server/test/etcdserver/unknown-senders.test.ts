import { describe, expect, it } from 'vitest';
import type { MemberInfo } from '../../src/member/cluster-config.js';
import { SILENT } from '../../src/logger.js';
import { UnknownSenders, type UnknownSendersDeps } from '../../src/etcdserver/unknown-senders.js';

const info = (id: number): MemberInfo => ({ id, name: `m${id}`, peerUrls: [`http://m${id}:2380`], clientUrls: [], isLearner: false });
const wire = (m: MemberInfo) => ({ ID: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: [] });

/** Member 1 lists 1..3; the peers answer MemberList from `lists` (a missing one is down). */
function setup(lists: Record<string, MemberInfo[]>, removed: number[] = []) {
  let now = 0;
  const asked: string[] = [];
  const added: string[] = [];
  const deps: UnknownSendersDeps = {
    selfId: 1,
    clock: { now: () => now, monotonic: () => now } as UnknownSendersDeps['clock'],
    dial: ((_service: string, url: string) => ({
      MemberList: (_req: unknown, _md: unknown, _opts: unknown, cb: (err: Error | null, res?: unknown) => void) => {
        asked.push(url);
        const list = lists[url];
        if (list === undefined) cb(Object.assign(new Error('14 UNAVAILABLE'), { code: 14 }));
        else cb(null, { header: { clusterId: 9 }, members: list.map(wire) });
      },
      close: () => {},
    })) as unknown as UnknownSendersDeps['dial'],
    logger: SILENT,
    members: () => [info(1), info(2), info(3)],
    isRemoved: (id) => removed.includes(id),
    addPeer: (id, urls) => added.push(`${id} ${urls.join(',')}`),
    timeoutMs: 1000,
  };
  const senders = new UnknownSenders(deps);
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return { senders, asked, added, settle, advance: (ms: number) => (now += ms) };
}

describe('UnknownSenders: reaching a member added after what this one applied', () => {
  it('asks the members it knows for the sender and opens the transport to it, once', async () => {
    const t = setup({ 'http://m3:2380': [info(1), info(2), info(3), info(4)] });
    t.senders.noteSender(4);
    t.senders.noteSender(4);
    await t.settle();
    expect(t.asked).toEqual(['http://m2:2380', 'http://m3:2380']);
    expect(t.added).toEqual(['4 http://m4:2380']);
    t.senders.noteSender(4);
    await t.settle();
    expect(t.asked).toHaveLength(2);
  });

  it('ignores listed and removed senders and itself', async () => {
    const t = setup({ 'http://m2:2380': [info(1), info(2), info(3), info(5)] }, [5]);
    for (const id of [1, 2, 3, 5]) t.senders.noteSender(id);
    await t.settle();
    expect(t.asked).toEqual([]);
    expect(t.added).toEqual([]);
  });

  it('looks a sender nobody lists up again only after the timeout', async () => {
    const lists: Record<string, MemberInfo[]> = { 'http://m2:2380': [info(1), info(2), info(3)] };
    const t = setup(lists);
    t.senders.noteSender(4);
    await t.settle();
    expect(t.asked).toEqual(['http://m2:2380', 'http://m3:2380']);
    t.senders.noteSender(4);
    await t.settle();
    expect(t.asked).toHaveLength(2);
    lists['http://m2:2380'] = [info(1), info(2), info(3), info(4)];
    t.advance(1000);
    t.senders.noteSender(4);
    await t.settle();
    expect(t.added).toEqual(['4 http://m4:2380']);
  });
});
