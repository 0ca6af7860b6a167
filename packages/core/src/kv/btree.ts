/**
 * An in-memory B+tree from byte keys to values, ordered by unsigned byte comparison (the order
 * of Buffer.compare: a proper prefix sorts first, 0x00 and 0xff are ordinary bytes).
 *
 * Values live in the leaves, which are chained left to right so a range scan walks siblings
 * instead of climbing the tree. Inner nodes hold separators: every key in `children[i + 1]` is
 * `>= keys[i]` and every key in `children[i]` is `< keys[i]`. A separator may outlive the key
 * it was copied from (deletes do not rewrite it), which keeps that invariant intact.
 *
 * Costs, for n keys and node capacity B: lookup, insert and delete are O(log_B n) node visits
 * plus O(B) work inside one node per level (binary search, and an array splice bounded by B);
 * a scan of k keys is O(log_B n + k). Non-root nodes stay at least half full, by borrowing from
 * or merging with a sibling after a delete, so the height stays logarithmic as keys come and go.
 */

import { compareKeys } from '../keys.js';

interface Leaf<V> {
  readonly leaf: true;
  keys: Uint8Array[];
  values: V[];
  next: Leaf<V> | undefined;
}

interface Inner<V> {
  readonly leaf: false;
  /** Separators; always `children.length - 1` of them. */
  keys: Uint8Array[];
  children: Array<Node<V>>;
}

type Node<V> = Leaf<V> | Inner<V>;

export interface BTreeOptions {
  /** Most keys in a leaf and most children of an inner node; at least 4. Default 64. */
  readonly maxNodeSize?: number;
}

export class BTree<V> {
  private root: Node<V> = newLeaf();
  private count = 0;
  private readonly max: number;
  private readonly min: number;

  constructor(options: BTreeOptions = {}) {
    const max = options.maxNodeSize ?? 64;
    if (!Number.isInteger(max) || max < 4) throw new RangeError(`maxNodeSize ${String(max)} must be an integer >= 4`);
    this.max = max;
    // Half full: an underfull node (min - 1) merged with a minimal sibling (min) still fits.
    this.min = Math.floor(max / 2);
  }

  /** Number of keys. */
  get size(): number {
    return this.count;
  }

  /** The value stored under `key`, or undefined. */
  get(key: Uint8Array): V | undefined {
    const leaf = this.findLeaf(key);
    const i = lowerBound(leaf.keys, key);
    return i < leaf.keys.length && compareKeys(leaf.keys[i]!, key) === 0 ? leaf.values[i] : undefined;
  }

  /**
   * Stores `value` under `key`, replacing any previous value. The tree keeps `key` itself, so
   * the caller must not mutate it afterwards.
   */
  set(key: Uint8Array, value: V): void {
    this.insertAtRoot(key, () => ({ key, value }), true);
  }

  /**
   * Returns the value under `key`; if there is none, first stores the entry `create()` makes,
   * whose key must equal `key` (it may be a private copy). One descent instead of get + set.
   */
  getOrInsert(key: Uint8Array, create: () => { key: Uint8Array; value: V }): V {
    return this.insertAtRoot(key, create, false);
  }

  private insertAtRoot(key: Uint8Array, create: () => { key: Uint8Array; value: V }, replace: boolean): V {
    const out: { value?: V } = {};
    const split = this.insert(this.root, key, create, replace, out);
    if (split !== undefined) {
      // The root split: grow the tree by one level.
      this.root = { leaf: false, keys: [split.separator], children: [this.root, split.right] };
    }
    return out.value!;
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: Uint8Array): boolean {
    const found = this.remove(this.root, key);
    if (!this.root.leaf && this.root.children.length === 1) {
      // The root lost its last separator: shrink the tree by one level.
      this.root = this.root.children[0]!;
    }
    return found;
  }

  /**
   * Yields `[key, value]` in ascending key order, from the first key `>= from` (or the first
   * key if `from` is undefined). The tree must not be modified while the iterator is in use.
   */
  *entries(from?: Uint8Array): Generator<[Uint8Array, V]> {
    let leaf: Leaf<V> | undefined;
    let i: number;
    if (from === undefined) {
      leaf = this.firstLeaf();
      i = 0;
    } else {
      leaf = this.findLeaf(from);
      i = lowerBound(leaf.keys, from);
    }
    while (leaf !== undefined) {
      for (; i < leaf.keys.length; i++) yield [leaf.keys[i]!, leaf.values[i]!];
      leaf = leaf.next;
      i = 0;
    }
  }

  /** Height of the tree (1 for a lone leaf); exposed for tests of the balancing. */
  height(): number {
    let h = 1;
    for (let n = this.root; !n.leaf; n = n.children[0]!) h++;
    return h;
  }

  /**
   * Throws an Error describing the first broken structural invariant (order, separators, fill,
   * equal leaf depth, leaf chain, count). For tests.
   */
  checkInvariants(): void {
    const leaves: Array<Leaf<V>> = [];
    let depth = -1;
    const walk = (n: Node<V>, lo: Uint8Array | undefined, hi: Uint8Array | undefined, d: number, isRoot: boolean): void => {
      const fill = n.leaf ? n.keys.length : n.children.length;
      if (fill > this.max) throw new Error(`node over capacity: ${String(fill)}`);
      if (!isRoot && fill < this.min) throw new Error(`node under half full: ${String(fill)}`);
      for (let i = 1; i < n.keys.length; i++) {
        if (compareKeys(n.keys[i - 1]!, n.keys[i]!) >= 0) throw new Error('keys not strictly ascending');
      }
      for (const k of n.keys) {
        if (lo !== undefined && compareKeys(k, lo) < 0) throw new Error('key below its separator');
        if (hi !== undefined && compareKeys(k, hi) >= 0) throw new Error('key at or above its separator');
      }
      if (n.leaf) {
        if (n.values.length !== n.keys.length) throw new Error('keys and values differ in length');
        if (depth === -1) depth = d;
        else if (depth !== d) throw new Error('leaves at different depths');
        leaves.push(n);
        return;
      }
      if (n.keys.length !== n.children.length - 1) throw new Error('separator count mismatch');
      if (isRoot && n.children.length < 2) throw new Error('inner root with one child');
      n.children.forEach((c, i) => walk(c, i === 0 ? lo : n.keys[i - 1], i === n.keys.length ? hi : n.keys[i], d + 1, false));
    };
    walk(this.root, undefined, undefined, 0, true);
    let total = 0;
    for (let i = 0; i < leaves.length; i++) {
      if (leaves[i]!.next !== leaves[i + 1]) throw new Error('leaf chain broken');
      total += leaves[i]!.keys.length;
    }
    if (total !== this.count) throw new Error(`size ${String(this.count)} but ${String(total)} keys`);
  }

  private findLeaf(key: Uint8Array): Leaf<V> {
    let n = this.root;
    while (!n.leaf) n = n.children[upperBound(n.keys, key)]!;
    return n;
  }

  private firstLeaf(): Leaf<V> {
    let n = this.root;
    while (!n.leaf) n = n.children[0]!;
    return n;
  }

  /**
   * Inserts below `n` (replacing an existing value only if `replace`), leaving the value now
   * under `key` in `out.value`; returns the new right sibling of `n` if `n` had to split.
   */
  private insert(
    n: Node<V>,
    key: Uint8Array,
    create: () => { key: Uint8Array; value: V },
    replace: boolean,
    out: { value?: V },
  ): { separator: Uint8Array; right: Node<V> } | undefined {
    if (n.leaf) {
      const i = lowerBound(n.keys, key);
      if (i < n.keys.length && compareKeys(n.keys[i]!, key) === 0) {
        if (replace) n.values[i] = create().value;
        out.value = n.values[i]!;
        return undefined;
      }
      const entry = create();
      n.keys.splice(i, 0, entry.key);
      n.values.splice(i, 0, entry.value);
      out.value = entry.value;
      this.count++;
      if (n.keys.length <= this.max) return undefined;
      const mid = n.keys.length >>> 1;
      const right: Leaf<V> = { leaf: true, keys: n.keys.slice(mid), values: n.values.slice(mid), next: n.next };
      n.keys.length = mid;
      n.values.length = mid;
      n.next = right;
      return { separator: right.keys[0]!, right };
    }
    const ci = upperBound(n.keys, key);
    const split = this.insert(n.children[ci]!, key, create, replace, out);
    if (split === undefined) return undefined;
    n.keys.splice(ci, 0, split.separator);
    n.children.splice(ci + 1, 0, split.right);
    if (n.children.length <= this.max) return undefined;
    // Children [0, mid) stay; keys[mid - 1] moves up; the rest go right.
    const mid = n.children.length >>> 1;
    const separator = n.keys[mid - 1]!;
    const right: Inner<V> = { leaf: false, keys: n.keys.slice(mid), children: n.children.slice(mid) };
    n.keys.length = mid - 1;
    n.children.length = mid;
    return { separator, right };
  }

  /** Removes `key` below `n`, rebalancing any child left under half full. */
  private remove(n: Node<V>, key: Uint8Array): boolean {
    if (n.leaf) {
      const i = lowerBound(n.keys, key);
      if (i >= n.keys.length || compareKeys(n.keys[i]!, key) !== 0) return false;
      n.keys.splice(i, 1);
      n.values.splice(i, 1);
      this.count--;
      return true;
    }
    const ci = upperBound(n.keys, key);
    const child = n.children[ci]!;
    if (!this.remove(child, key)) return false;
    const fill = child.leaf ? child.keys.length : child.children.length;
    if (fill < this.min) this.rebalance(n, ci);
    return true;
  }

  /** Refills `parent.children[ci]` from a sibling, or merges it with one. */
  private rebalance(parent: Inner<V>, ci: number): void {
    const child = parent.children[ci]!;
    const left = ci > 0 ? parent.children[ci - 1] : undefined;
    const right = ci + 1 < parent.children.length ? parent.children[ci + 1] : undefined;
    const spare = (s: Node<V> | undefined): boolean =>
      s !== undefined && (s.leaf ? s.keys.length : s.children.length) > this.min;

    if (child.leaf) {
      const l = left as Leaf<V> | undefined;
      const r = right as Leaf<V> | undefined;
      if (spare(l)) {
        child.keys.unshift(l!.keys.pop()!);
        child.values.unshift(l!.values.pop()!);
        parent.keys[ci - 1] = child.keys[0]!;
      } else if (spare(r)) {
        child.keys.push(r!.keys.shift()!);
        child.values.push(r!.values.shift()!);
        parent.keys[ci] = r!.keys[0]!;
      } else if (l !== undefined) {
        l.keys.push(...child.keys);
        l.values.push(...child.values);
        l.next = child.next;
        parent.keys.splice(ci - 1, 1);
        parent.children.splice(ci, 1);
      } else if (r !== undefined) {
        child.keys.push(...r.keys);
        child.values.push(...r.values);
        child.next = r.next;
        parent.keys.splice(ci, 1);
        parent.children.splice(ci + 1, 1);
      }
      return;
    }

    const l = left as Inner<V> | undefined;
    const r = right as Inner<V> | undefined;
    // Inner nodes rotate through the parent: the separator comes down, the sibling's edge key goes up.
    if (spare(l)) {
      child.keys.unshift(parent.keys[ci - 1]!);
      child.children.unshift(l!.children.pop()!);
      parent.keys[ci - 1] = l!.keys.pop()!;
    } else if (spare(r)) {
      child.keys.push(parent.keys[ci]!);
      child.children.push(r!.children.shift()!);
      parent.keys[ci] = r!.keys.shift()!;
    } else if (l !== undefined) {
      l.keys.push(parent.keys[ci - 1]!, ...child.keys);
      l.children.push(...child.children);
      parent.keys.splice(ci - 1, 1);
      parent.children.splice(ci, 1);
    } else if (r !== undefined) {
      child.keys.push(parent.keys[ci]!, ...r.keys);
      child.children.push(...r.children);
      parent.keys.splice(ci, 1);
      parent.children.splice(ci + 1, 1);
    }
  }
}

function newLeaf<V>(): Leaf<V> {
  return { leaf: true, keys: [], values: [], next: undefined };
}

/** First index whose key is `>= key`. */
function lowerBound(keys: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is `> key`: the child of an inner node that may hold `key`. */
function upperBound(keys: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid]!, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
