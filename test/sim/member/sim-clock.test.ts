import { describe, expect, it } from 'vitest';
import { EventQueue } from '../event-queue.js';
import { SimClock, type SimEvent } from './sim-clock.js';

function run(queue: EventQueue<SimEvent>, until: number): void {
  for (let t = queue.peekTime(); t !== undefined && t <= until; t = queue.peekTime()) queue.pop()!();
}

describe('SimClock', () => {
  it('fires timers in time order on simulated time, intervals until cancelled', () => {
    const queue = new EventQueue<SimEvent>();
    const clock = new SimClock(queue);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`t30@${clock.monotonic()}`), 30);
    const every = clock.setInterval(() => seen.push(`i@${clock.monotonic()}`), 10);
    clock.setTimeout(() => every.cancel(), 25);
    clock.soon(() => seen.push(`soon@${clock.monotonic()}`));
    run(queue, 100);
    expect(seen).toEqual(['soon@0', 'i@10', 'i@20', 't30@30']);
    expect(clock.pending).toBe(0);
  });

  it('a killed clock fires nothing more and takes no new timers', () => {
    const queue = new EventQueue<SimEvent>();
    const clock = new SimClock(queue);
    let fired = 0;
    clock.setInterval(() => fired++, 5);
    run(queue, 12);
    clock.kill();
    clock.setTimeout(() => fired++, 1);
    run(queue, 100);
    expect(fired).toBe(2);
    expect(clock.pending).toBe(0);
  });

  it('the wall clock jumps, monotonic time does not', () => {
    const queue = new EventQueue<SimEvent>();
    const clock = new SimClock(queue);
    const wall = clock.now();
    clock.jump(-60_000);
    expect(clock.now()).toBe(wall - 60_000);
    expect(clock.monotonic()).toBe(0);
  });
});
