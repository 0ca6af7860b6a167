import { describe, expect, it } from 'vitest';
import { ClusterConfigError, parseInitialCluster, parseUrlList } from '../../src/member/cluster-config.js';
import { clusterIdFor, formatId, memberIdFor } from '../../src/member/member-id.js';

const validId = (id: number) => {
  expect(Number.isSafeInteger(id)).toBe(true);
  expect(id).toBeGreaterThan(0);
};

describe('memberIdFor / clusterIdFor', () => {
  it('same inputs give the same id; peer URL order does not matter', () => {
    const a = memberIdFor(['http://10.0.0.1:2380', 'http://10.0.0.2:2380'], 'tok');
    expect(memberIdFor(['http://10.0.0.1:2380', 'http://10.0.0.2:2380'], 'tok')).toBe(a);
    expect(memberIdFor(['http://10.0.0.2:2380', 'http://10.0.0.1:2380'], 'tok')).toBe(a);
    validId(a);
  });

  it('a different token, or different URLs, give a different id', () => {
    const a = memberIdFor(['http://10.0.0.1:2380'], 'tok');
    expect(memberIdFor(['http://10.0.0.1:2380'], 'tok2')).not.toBe(a);
    expect(memberIdFor(['http://10.0.0.1:2381'], 'tok')).not.toBe(a);
    expect(memberIdFor(['http://10.0.0.1:2380', 'http://10.0.0.3:2380'], 'tok')).not.toBe(a);
  });

  it('does not sort the caller array in place', () => {
    const urls = ['http://b:1', 'http://a:1'];
    memberIdFor(urls, 't');
    expect(urls).toEqual(['http://b:1', 'http://a:1']);
  });

  it('ids are safe non-zero integers over many inputs', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const id = memberIdFor([`http://10.0.${String(i >> 8)}.${String(i & 255)}:2380`], 'etcd-cluster');
      validId(id);
      seen.add(id);
    }
    expect(seen.size).toBe(2000);
  });

  it('the cluster id does not depend on member order, and changes with the members', () => {
    const ids = [memberIdFor(['http://a:1'], 't'), memberIdFor(['http://b:1'], 't'), memberIdFor(['http://c:1'], 't')];
    const c = clusterIdFor(ids);
    validId(c);
    expect(clusterIdFor([...ids].reverse())).toBe(c);
    expect(clusterIdFor([ids[1]!, ids[2]!, ids[0]!])).toBe(c);
    expect(clusterIdFor(ids.slice(0, 2))).not.toBe(c);
  });

  it('formatId prints hex', () => {
    expect(formatId(0x1fffffffffffff)).toBe('1fffffffffffff');
    expect(formatId(255)).toBe('ff');
  });
});

describe('parseInitialCluster', () => {
  const three = 'infra0=http://10.0.1.10:2380,infra1=http://10.0.1.11:2380,infra2=http://10.0.1.12:2380';

  it('parses members; ids follow memberIdFor and the token', () => {
    const cfg = parseInitialCluster(three, 'etcd-cluster-1');
    expect(cfg.members.map((m) => m.name).sort()).toEqual(['infra0', 'infra1', 'infra2']);
    for (const m of cfg.members) {
      expect(m.id).toBe(memberIdFor(m.peerUrls, 'etcd-cluster-1'));
      expect(m.isLearner).toBe(false);
      expect(m.clientUrls).toEqual([]);
      validId(m.id);
    }
    expect(cfg.clusterId).toBe(clusterIdFor(cfg.members.map((m) => m.id)));
    validId(cfg.clusterId);
  });

  it('every member computes the same ids, whatever the order of --initial-cluster', () => {
    const a = parseInitialCluster(three, 't');
    const b = parseInitialCluster(three.split(',').reverse().join(','), 't');
    expect(b).toEqual(a);
  });

  it('a different token gives different member and cluster ids', () => {
    const a = parseInitialCluster(three, 't1');
    const b = parseInitialCluster(three, 't2');
    expect(b.clusterId).not.toBe(a.clusterId);
    for (const m of a.members) expect(b.members.map((x) => x.id)).not.toContain(m.id);
  });

  it('a name given twice is one member with two peer URLs; their order does not change the id', () => {
    const cfg = parseInitialCluster('n1=http://10.0.0.1:2380,n1=http://10.0.0.2:2380,n2=http://10.0.0.3:2380', 't');
    expect(cfg.members).toHaveLength(2);
    const n1 = cfg.members.find((m) => m.name === 'n1')!;
    expect([...n1.peerUrls].sort()).toEqual(['http://10.0.0.1:2380', 'http://10.0.0.2:2380']);
    expect(n1.id).toBe(memberIdFor(['http://10.0.0.1:2380', 'http://10.0.0.2:2380'], 't'));
    const swapped = parseInitialCluster('n1=http://10.0.0.2:2380,n2=http://10.0.0.3:2380,n1=http://10.0.0.1:2380', 't');
    expect(swapped.members.find((m) => m.name === 'n1')!.id).toBe(n1.id);
    expect(swapped.clusterId).toBe(cfg.clusterId);
  });

  it('tolerates spaces and empty items', () => {
    const cfg = parseInitialCluster(' a=http://h:1 , ,b=https://h:2,', 't');
    expect(cfg.members.map((m) => m.name).sort()).toEqual(['a', 'b']);
  });

  const bad: [string, string][] = [
    ['missing "="', 'infra0http://10.0.1.10:2380'],
    ['empty name', '=http://10.0.1.10:2380'],
    ['empty URL', 'infra0='],
    ['not a URL', 'infra0=10.0.1.10:2380x'],
    ['no port', 'infra0=http://10.0.1.10'],
    ['a path', 'infra0=http://10.0.1.10:2380/peers'],
    ['a query', 'infra0=http://10.0.1.10:2380?x=1'],
    ['another scheme', 'infra0=unix://10.0.1.10:2380'],
    ['the same URL twice in one member', 'a=http://h:1,a=http://h:1'],
    ['the same URL in two members', 'a=http://h:1,b=http://h:1'],
    ['empty', ''],
    ['only commas', ' , ,'],
  ];
  for (const [why, spec] of bad) {
    it(`refuses ${why}`, () => {
      expect(() => parseInitialCluster(spec, 't')).toThrow(ClusterConfigError);
    });
  }

  it('accepts an explicit default port (http :80, https :443), as etcd does', () => {
    // new URL() drops a scheme's default port, but it was given explicitly.
    expect(() => parseInitialCluster('a=http://10.0.0.1:80', 't')).not.toThrow();
    expect(() => parseInitialCluster('a=https://10.0.0.1:443', 't')).not.toThrow();
  });
});

describe('parseUrlList', () => {
  it('parses a list', () => {
    expect(parseUrlList('http://a:1, https://b:2', '--listen-client-urls')).toEqual(['http://a:1', 'https://b:2']);
  });

  it('refuses an empty list or a bad URL, naming the flag', () => {
    expect(() => parseUrlList(' , ', '--x')).toThrow(/--x/);
    expect(() => parseUrlList('http://a', '--listen-peer-urls')).toThrow(/--listen-peer-urls/);
  });
});
