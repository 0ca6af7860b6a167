import { describe, expect, it } from 'vitest';
import { type WatchEnd, WatcherIndex } from '../../src/watch/watcher-index.js';
const k = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const str = (key: Uint8Array): string => Buffer.from(key).toString('latin1');

interface W {
  key: Uint8Array;
  end: WatchEnd;
  name: string;
}

function w(name: string, key: string, end?: string | 'open'): W {
  return { name, key: k(key), end: end === undefined ? undefined : end === 'open' ? 'open' : k(end) };
}

function matches(idx: WatcherIndex<W>, key: string): string[] {
  const out: string[] = [];
  idx.match(k(key), (x) => out.push(x.name));
  return out.sort();
}

describe('WatcherIndex', () => {
  it('matches single keys, ranges and from-key watchers', () => {
    const idx = new WatcherIndex<W>();
    const all = [w('a', 'a'), w('a2', 'a'), w('ab-ad', 'ab', 'ad'), w('b+', 'b', 'open'), w('a-z', 'a', 'z'), w('c-d', 'c', 'd')];
    for (const x of all) idx.add(x);
    expect(idx.size).toBe(6);
    expect(matches(idx, 'a')).toEqual(['a', 'a-z', 'a2']);
    expect(matches(idx, 'ac')).toEqual(['a-z', 'ab-ad']);
    expect(matches(idx, 'ad')).toEqual(['a-z']);
    expect(matches(idx, 'c')).toEqual(['a-z', 'b+', 'c-d']);
    expect(matches(idx, 'z')).toEqual(['b+']);
    expect(matches(idx, '0')).toEqual([]);
    idx.delete(all[4]!);
    idx.delete(all[0]!);
    expect(matches(idx, 'a')).toEqual(['a2']);
    expect(matches(idx, 'c')).toEqual(['b+', 'c-d']);
    expect([...idx.values()].map((x) => x.name).sort()).toEqual(['a2', 'ab-ad', 'b+', 'c-d']);
  });

  it('agrees with a brute-force scan on random ranges', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const letters = 'abcdefgh';
    const key = (): string => letters[rnd(8)]! + (rnd(2) === 0 ? '' : letters[rnd(8)]!);
    const idx = new WatcherIndex<W>();
    const live: W[] = [];
    for (let i = 0; i < 400; i++) {
      const kind = rnd(3);
      const a = key();
      const x = kind === 0 ? w(`w${String(i)}`, a) : kind === 1 ? w(`w${String(i)}`, a, 'open') : w(`w${String(i)}`, a, a + 'z');
      idx.add(x);
      live.push(x);
      if (rnd(4) === 0) {
        const gone = live.splice(rnd(live.length), 1)[0]!;
        idx.delete(gone);
      }
      const probe = key();
      const want = live
        .filter((y) => {
          const p = k(probe);
          if (y.end === undefined) return str(y.key) === probe;
          if (Buffer.compare(p, y.key) < 0) return false;
          return y.end === 'open' || Buffer.compare(p, y.end) < 0;
        })
        .map((y) => y.name)
        .sort();
      expect(matches(idx, probe)).toEqual(want);
    }
  });
});
