/**
 * 32-bit hashing for the checker's memo. Model states and sets of linearized operations are
 * fingerprinted with two independent 32-bit halves (64 bits): their hashes are XORs of
 * per-part hashes, so adding or removing a part updates them in O(1).
 */

/** Seeds for the two independent halves. */
export const SEED_A = 0x2545f491;
export const SEED_B = 0x6c8e9cf5;

/** Murmur3's finalizer: every input bit affects every output bit. */
export function avalanche(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** Folds one 32-bit word into a running hash (order matters). */
export function combine(hash: number, word: number): number {
  let k = Math.imul(word | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  let h = hash ^ k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Folds a non-negative integer up to 2^53 into a running hash. */
export function combineNumber(hash: number, value: number): number {
  return combine(combine(hash, value | 0), Math.floor(value / 0x1_0000_0000) | 0);
}

export function hashString(text: string, seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < text.length; i++) h = combine(h, text.charCodeAt(i));
  return avalanche(combine(h, text.length));
}
