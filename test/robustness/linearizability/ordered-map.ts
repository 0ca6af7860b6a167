/**
 * A persistent (immutable) AVL tree keyed by string in etcd's key order. The checker keeps
 * every model state on its backtracking stack, so an update must share structure with the
 * state it came from instead of copying it: insert and remove allocate O(log n) nodes.
 */

export interface MapNode<V> {
  readonly key: string;
  readonly value: V;
  readonly left: OrderedMap<V>;
  readonly right: OrderedMap<V>;
  readonly height: number;
}

/** `undefined` is the empty map. */
export type OrderedMap<V> = MapNode<V> | undefined;

/**
 * etcd orders keys (and compares values) by their UTF-8 bytes. UTF-16 code-unit order agrees
 * with that except between a surrogate (a code point above U+FFFF) and a unit in
 * U+E000..U+FFFF, where UTF-8 puts the surrogate's code point last.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate && !ySurrogate && y >= 0xe000) return 1;
    if (ySurrogate && !xSurrogate && x >= 0xe000) return -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function heightOf<V>(map: OrderedMap<V>): number {
  return map === undefined ? 0 : map.height;
}

function makeNode<V>(key: string, value: V, left: OrderedMap<V>, right: OrderedMap<V>): MapNode<V> {
  return { key, value, left, right, height: 1 + Math.max(heightOf(left), heightOf(right)) };
}

/** Builds a node whose subtrees' heights differ by at most 2, rotating back into AVL shape. */
function balanced<V>(key: string, value: V, left: OrderedMap<V>, right: OrderedMap<V>): MapNode<V> {
  const leftHeight = heightOf(left);
  const rightHeight = heightOf(right);
  if (leftHeight > rightHeight + 1 && left !== undefined) {
    if (heightOf(left.left) >= heightOf(left.right)) {
      return makeNode(left.key, left.value, left.left, makeNode(key, value, left.right, right));
    }
    const pivot = left.right as MapNode<V>;
    return makeNode(pivot.key, pivot.value, makeNode(left.key, left.value, left.left, pivot.left), makeNode(key, value, pivot.right, right));
  }
  if (rightHeight > leftHeight + 1 && right !== undefined) {
    if (heightOf(right.right) >= heightOf(right.left)) {
      return makeNode(right.key, right.value, makeNode(key, value, left, right.left), right.right);
    }
    const pivot = right.left as MapNode<V>;
    return makeNode(pivot.key, pivot.value, makeNode(key, value, left, pivot.left), makeNode(right.key, right.value, pivot.right, right.right));
  }
  return makeNode(key, value, left, right);
}

export function lookup<V>(map: OrderedMap<V>, key: string): V | undefined {
  let node = map;
  while (node !== undefined) {
    const order = compareKeys(key, node.key);
    if (order === 0) return node.value;
    node = order < 0 ? node.left : node.right;
  }
  return undefined;
}

export function insert<V>(map: OrderedMap<V>, key: string, value: V): MapNode<V> {
  if (map === undefined) return makeNode(key, value, undefined, undefined);
  const order = compareKeys(key, map.key);
  if (order === 0) return makeNode(key, value, map.left, map.right);
  if (order < 0) return balanced(map.key, map.value, insert(map.left, key, value), map.right);
  return balanced(map.key, map.value, map.left, insert(map.right, key, value));
}

function removeSmallest<V>(map: MapNode<V>): OrderedMap<V> {
  if (map.left === undefined) return map.right;
  return balanced(map.key, map.value, removeSmallest(map.left), map.right);
}

function smallest<V>(map: MapNode<V>): MapNode<V> {
  let node = map;
  while (node.left !== undefined) node = node.left;
  return node;
}

/** Returns the same map object when the key is absent, so callers can tell nothing changed. */
export function remove<V>(map: OrderedMap<V>, key: string): OrderedMap<V> {
  if (map === undefined) return undefined;
  const order = compareKeys(key, map.key);
  if (order < 0) {
    const left = remove(map.left, key);
    return left === map.left ? map : balanced(map.key, map.value, left, map.right);
  }
  if (order > 0) {
    const right = remove(map.right, key);
    return right === map.right ? map : balanced(map.key, map.value, map.left, right);
  }
  if (map.left === undefined) return map.right;
  if (map.right === undefined) return map.left;
  const successor = smallest(map.right);
  return balanced(successor.key, successor.value, map.left, removeSmallest(map.right));
}

/**
 * Visits the entries with from <= key < to (to undefined: no upper bound) in key order until
 * `visit` returns false. Returns false when a visit stopped it.
 */
export function visitRange<V>(map: OrderedMap<V>, from: string, to: string | undefined, visit: (key: string, value: V) => boolean): boolean {
  if (map === undefined) return true;
  const atOrAfterFrom = compareKeys(map.key, from) >= 0;
  const beforeTo = to === undefined || compareKeys(map.key, to) < 0;
  if (atOrAfterFrom && !visitRange(map.left, from, to, visit)) return false;
  if (atOrAfterFrom && beforeTo && !visit(map.key, map.value)) return false;
  if (beforeTo) return visitRange(map.right, from, to, visit);
  return true;
}

export function entries<V>(map: OrderedMap<V>): [string, V][] {
  const all: [string, V][] = [];
  visitRange(map, '', undefined, (key, value) => {
    all.push([key, value]);
    return true;
  });
  return all;
}
