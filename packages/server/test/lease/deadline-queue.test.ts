import { describe, expect, it } from 'vitest';
import { DeadlineQueue } from '../../src/lease/deadline-queue.js';
import { rng } from '../mvcc/helpers.js';

/** Pops everything, in order. */
function drain(q: DeadlineQueue): [number, number][] {
  const out: [number, number][] = [];
  for (let top = q.peek(); top !== undefined; top = q.peek()) {
    out.push([top.id, top.time]);
    q.delete(top.id);
  }
  return out;
}

describe('DeadlineQueue', () => {
  it('orders by time, then id, with one entry per id', () => {
    const q = new DeadlineQueue();
    q.set(3, 10);
    q.set(1, 10);
    q.set(2, 5);
    q.set(3, 1); // moves
    expect(q.size).toBe(3);
    expect(drain(q)).toEqual([[3, 1], [2, 5], [1, 10]]);
  });

  it('matches a model under random sets and deletes', () => {
    const next = rng(7);
    const q = new DeadlineQueue();
    const model = new Map<number, number>();
    for (let i = 0; i < 5000; i++) {
      const id = Math.floor(next() * 200);
      if (next() < 0.3) {
        q.delete(id);
        model.delete(id);
      } else {
        const time = Math.floor(next() * 1000);
        q.set(id, time);
        model.set(id, time);
      }
      if (i % 500 === 0) expect(q.peek()?.id).toBe(sorted(model)[0]?.[0]);
    }
    expect(q.size).toBe(model.size);
    expect(drain(q)).toEqual(sorted(model));
  });

  it('clears', () => {
    const q = new DeadlineQueue();
    q.set(1, 1);
    q.clear();
    expect(q.peek()).toBeUndefined();
    expect(q.has(1)).toBe(false);
  });
});

function sorted(model: Map<number, number>): [number, number][] {
  return [...model].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
}
