/**
 * The revision floor of one client session (one connection) on a proxy.
 *
 * A proxy session promises monotonic reads (never answer from a revision older than one the
 * session already saw) and read-your-writes (after a write the proxy forwarded, never answer
 * from before that write's revision). Both reduce to one number: the highest revision the
 * session has observed in any response. A read is served from the cache only once the cache
 * has reached the floor.
 */
export class SessionRevisionFloor {
  private floor = 0;

  /** Records a revision the session has seen (a response header, a write's revision). */
  observe(revision: number): void {
    if (!Number.isSafeInteger(revision) || revision < 0) {
      throw new RangeError(`revision must be a non-negative safe integer, got ${revision}`);
    }
    if (revision > this.floor) this.floor = revision;
  }

  /** The lowest revision a read for this session may be answered at. */
  current(): number {
    return this.floor;
  }

  /** Whether a cache at `cacheRevision` may answer this session now. */
  satisfiedBy(cacheRevision: number): boolean {
    return cacheRevision >= this.floor;
  }
}
