import type { RandomSource } from '@kvfleet/core';

export interface NetworkFaults {
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice. */
  duplicateRate: number;
  /** One-way latency is uniform in [minDelayMs, maxDelayMs]; the spread reorders messages. */
  minDelayMs: number;
  maxDelayMs: number;
}

export const HEALTHY_NETWORK: NetworkFaults = { dropRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 3 };

/**
 * Decides the fate of each message: lost, delayed, duplicated, or blocked by a partition.
 * Partitions are sets of cut directed links, so symmetric and one-way partitions are the same
 * mechanism.
 */
export class SimNetwork {
  faults: NetworkFaults;
  private readonly cut = new Set<string>();

  constructor(
    private readonly random: RandomSource,
    faults: NetworkFaults,
  ) {
    this.faults = faults;
  }

  /** Delivery delays for one message from → to: [] when lost, two entries when duplicated. */
  deliveries(from: number, to: number): number[] {
    if (this.cut.has(link(from, to))) return [];
    if (this.random.chance(this.faults.dropRate)) return [];
    const delays = [this.delay()];
    if (this.random.chance(this.faults.duplicateRate)) delays.push(this.delay());
    return delays;
  }

  private delay(): number {
    const { minDelayMs, maxDelayMs } = this.faults;
    return minDelayMs + this.random.int(maxDelayMs - minDelayMs + 1);
  }

  /** Cuts every link between the two groups, both ways. */
  partition(a: readonly number[], b: readonly number[]): void {
    for (const x of a) for (const y of b) {
      this.cut.add(link(x, y));
      this.cut.add(link(y, x));
    }
  }

  /** Cuts messages from → to only. */
  cutOneWay(from: number, to: number): void {
    this.cut.add(link(from, to));
  }

  isCut(from: number, to: number): boolean {
    return this.cut.has(link(from, to));
  }

  heal(): void {
    this.cut.clear();
  }

  describe(): string {
    return this.cut.size === 0 ? 'no partition' : `cut links: ${[...this.cut].sort().join(' ')}`;
  }
}

function link(from: number, to: number): string {
  return `${from}>${to}`;
}
