/**
 * Reads waiting for the cache to reach a revision (a linearizable read's cluster revision, a
 * session's floor). Bounded: past `maxWaiters` a wait answers false at once and the caller
 * forwards the read instead of queueing more memory.
 */
export class RevisionWaiters {
  private readonly waiting = new Map<number, Array<(reached: boolean) => void>>();
  private count = 0;

  constructor(
    private readonly revision: () => number,
    private readonly maxWaiters = 100_000,
  ) {}

  /** Resolves true once `advance` reaches `target`, false after `timeoutMs` or when full. */
  wait(target: number, timeoutMs: number): Promise<boolean> {
    if (this.revision() >= target) return Promise.resolve(true);
    if (this.count >= this.maxWaiters) return Promise.resolve(false);
    return new Promise((resolve) => {
      let done = false;
      const finish = (reached: boolean): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.count -= 1;
        resolve(reached);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.count += 1;
      const list = this.waiting.get(target);
      if (list === undefined) this.waiting.set(target, [finish]);
      else list.push(finish);
    });
  }

  /** The cache reached `revision`: wakes every wait at or below it. */
  advance(revision: number): void {
    for (const [target, list] of this.waiting) {
      if (target > revision) continue;
      this.waiting.delete(target);
      for (const finish of list) finish(true);
    }
  }

  /** Ends every wait with false (shutdown). */
  close(): void {
    for (const list of this.waiting.values()) for (const finish of list) finish(false);
    this.waiting.clear();
  }

  get size(): number {
    return this.count;
  }
}
