/**
 * A peer's outgoing queue of encoded messages, bounded by count and by bytes.
 *
 * Bytes stay charged after `take` until `release`: a batch handed to the gRPC stream still
 * occupies memory until the stream has passed it to the socket, and that memory must count
 * against the same bound, or a stalled peer could make the stream's own buffer grow forever.
 */
export class BoundedQueue {
  private items: Uint8Array[] = [];
  private head = 0;
  private charged = 0;

  constructor(
    private readonly maxItems: number,
    private readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** Bytes queued plus bytes taken but not yet released. */
  get chargedBytes(): number {
    return this.charged;
  }

  /** Adds `item` unless that would exceed a bound; false means the caller drops it. */
  push(item: Uint8Array): boolean {
    if (this.length >= this.maxItems || this.charged + item.byteLength > this.maxBytes) return false;
    this.items.push(item);
    this.charged += item.byteLength;
    return true;
  }

  /**
   * Removes items from the front totalling at most `maxBytes` (but always at least one, so an
   * item larger than a batch still goes out alone). Their bytes stay charged.
   */
  take(maxBytes: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let bytes = 0;
    while (this.head < this.items.length) {
      const next = this.items[this.head]!;
      if (out.length > 0 && bytes + next.byteLength > maxBytes) break;
      out.push(next);
      bytes += next.byteLength;
      this.head++;
    }
    // Compact once the consumed prefix dominates, keeping take O(1) amortized.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Uncharges bytes of taken items once they are no longer held in memory. */
  release(bytes: number): void {
    this.charged = Math.max(0, this.charged - bytes);
  }

  /** Drops everything queued (taken-but-unreleased bytes stay charged). Returns how many. */
  clear(): number {
    const n = this.length;
    for (let i = this.head; i < this.items.length; i++) this.charged -= this.items[i]!.byteLength;
    this.items = [];
    this.head = 0;
    return n;
  }
}
