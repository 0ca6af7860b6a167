import type { Revision } from '../../src/mvcc/revision.js';
import type { RevisionSet } from '../../src/mvcc/revision.js';

/** A revision literal. */
export function r(main: number, sub = 0): Revision {
  return { main, sub };
}

/** A key from text (latin1, one byte per char). */
export function k(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

/** A key from bytes. */
export function b(...bytes: number[]): Uint8Array {
  return new Uint8Array(bytes);
}

/** Keys as strings for compact assertions. */
export function str(key: Uint8Array): string {
  return Buffer.from(key).toString('latin1');
}

/** The mains of a sorted revision set. */
export function mains(set: RevisionSet): number[] {
  return set.sorted().map((x) => x.main);
}

/** A small seeded PRNG (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
