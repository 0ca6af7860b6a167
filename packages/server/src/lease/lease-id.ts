/**
 * A new lease's id, chosen by the member that takes the grant before it proposes, so every
 * member applies the same one: random, positive, never 0 (etcd's "no lease") and not in use.
 */
import type { Random } from '../env/random.js';

export function newLeaseId(random: Random, inUse: (id: number) => boolean): number {
  let id = 0;
  // 53 bits, exact in JavaScript: 47 random high bits and 6 random low ones.
  while (id === 0 || inUse(id)) id = random.int(1, 2 ** 47) * 64 + random.int(0, 64);
  return id;
}
