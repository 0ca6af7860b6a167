import { describe, expect, it } from 'vitest';
import { BTree } from '../../src/kv/btree.js';
import { SeededRandom } from '../../src/random.js';

const b = (...bytes: number[]): Uint8Array => new Uint8Array(bytes);
const rng = (seed: number): (() => number) => {
  const random = new SeededRandom(seed);
  return () => random.float();
};

function hexKey(key: Uint8Array): string {
  return Buffer.from(key).toString('hex');
}

describe('BTree', () => {
  it('orders by unsigned bytes, prefixes first', () => {
    const t = new BTree<number>({ maxNodeSize: 4 });
    const keys = [b(0xff), b(), b(0x00), b(0x00, 0x00), b(0x7f), b(0x80), b(0x00, 0xff), b(0xff, 0xff), b(0x01)];
    keys.forEach((key, i) => t.set(key, i));
    t.checkInvariants();
    expect([...t.entries()].map(([key]) => hexKey(key))).toEqual(['', '00', '0000', '00ff', '01', '7f', '80', 'ff', 'ffff']);
    expect([...t.entries(b(0x00, 0x01))].map(([key]) => hexKey(key))).toEqual(['00ff', '01', '7f', '80', 'ff', 'ffff']);
    expect(t.get(b())).toBe(1);
    expect(t.get(b(0x02))).toBeUndefined();
  });

  it('stays balanced and matches a Map under random inserts and deletes', () => {
    for (const size of [4, 5, 8, 64]) {
      const next = rng(size);
      const t = new BTree<number>({ maxNodeSize: size });
      const model = new Map<string, number>();
      for (let step = 0; step < 6000; step++) {
        // A narrowing key space mixes growth phases with shrink phases.
        const space = step < 3000 ? 2000 : 300;
        const key = b(Math.floor(next() * space) >> 8, Math.floor(next() * space) & 0xff);
        const h = hexKey(key);
        if (next() < (step < 3000 ? 0.7 : 0.3)) {
          t.set(key, step);
          model.set(h, step);
        } else {
          expect(t.delete(key)).toBe(model.delete(h));
        }
        if (step % 500 === 0) t.checkInvariants();
      }
      t.checkInvariants();
      expect(t.size).toBe(model.size);
      expect([...t.entries()].map(([key, v]) => [hexKey(key), v])).toEqual([...model.entries()].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0)));
      for (const h of [...model.keys()]) t.delete(Buffer.from(h, 'hex'));
      t.checkInvariants();
      expect(t.size).toBe(0);
      expect(t.height()).toBe(1);
    }
  });

  it('keeps height logarithmic for 100k sequential keys', () => {
    const t = new BTree<number>();
    for (let i = 0; i < 100_000; i++) {
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, i);
      t.set(key, i);
    }
    t.checkInvariants();
    expect(t.height()).toBeLessThanOrEqual(4);
  });

  it('getOrInsert creates once and then returns the stored value', () => {
    const t = new BTree<{ n: number }>({ maxNodeSize: 4 });
    let made = 0;
    for (let i = 0; i < 50; i++) {
      const v = t.getOrInsert(b(i % 10), () => ({ key: b(i % 10), value: { n: made++ } }));
      expect(v.n).toBe(i % 10);
    }
    expect(made).toBe(10);
    expect(t.size).toBe(10);
    t.checkInvariants();
  });

  it('rejects a tiny node size', () => {
    expect(() => new BTree({ maxNodeSize: 3 })).toThrow(RangeError);
  });
});
