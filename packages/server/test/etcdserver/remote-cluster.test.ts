import { describe, expect, it } from 'vitest';
import { fetchRemoteCluster, type RemoteEnv } from '../../src/etcdserver/remote-cluster.js';

const member = (id: number, host: string) => ({ ID: id, name: host, peerURLs: [`http://${host}:2380`], clientURLs: [] });

/** Peers answering MemberList from fixed lists; a peer without a list is down. */
function env(lists: Record<string, ReturnType<typeof member>[] | undefined>, asked: string[]): RemoteEnv {
  return {
    clock: { now: () => 0 } as RemoteEnv['clock'],
    dial: ((_service: string, url: string) => ({
      MemberList: (_req: unknown, _md: unknown, _opts: unknown, cb: (err: Error | null, res?: unknown) => void) => {
        asked.push(url);
        const list = lists[url];
        if (list === undefined) cb(Object.assign(new Error('14 UNAVAILABLE'), { code: 14 }));
        else cb(null, { header: { clusterId: 9 }, members: list });
      },
      close: () => {},
    })) as unknown as RemoteEnv['dial'],
  };
}

describe('fetchRemoteCluster: what a joining member learns from the running ones', () => {
  const self = ['http://m4:2380'];

  it('skips a peer that has not applied our MemberAdd yet for one that lists us', async () => {
    const asked: string[] = [];
    const lagging = [member(1, 'm1'), member(2, 'm2')];
    const current = [...lagging, member(4, 'm4')];
    const remote = await fetchRemoteCluster(env({ 'http://m1:2380': undefined, 'http://m2:2380': lagging, 'http://m3:2380': current }, asked), ['http://m1:2380', 'http://m2:2380', 'http://m3:2380'], self, 1000);
    expect(asked).toEqual(['http://m1:2380', 'http://m2:2380', 'http://m3:2380']);
    expect(remote.clusterId).toBe(9);
    expect(remote.members.map((m) => m.id)).toEqual([1, 2, 4]);
  });

  it('stops at the first answer that lists us', async () => {
    const asked: string[] = [];
    const current = [member(1, 'm1'), member(4, 'm4')];
    await fetchRemoteCluster(env({ 'http://m1:2380': current, 'http://m2:2380': current }, asked), ['http://m1:2380', 'http://m2:2380'], self, 1000);
    expect(asked).toEqual(['http://m1:2380']);
  });

  it('with no answer listing us, returns the first answer; with none at all, throws', async () => {
    const lagging = [member(1, 'm1')];
    const remote = await fetchRemoteCluster(env({ 'http://m1:2380': undefined, 'http://m2:2380': lagging, 'http://m3:2380': [...lagging, member(3, 'm3')] }, []), ['http://m1:2380', 'http://m2:2380', 'http://m3:2380'], self, 1000);
    expect(remote.members.map((m) => m.id)).toEqual([1]);
    await expect(fetchRemoteCluster(env({}, []), ['http://m1:2380'], self, 1000)).rejects.toThrow(/could not retrieve cluster information/);
  });
});
