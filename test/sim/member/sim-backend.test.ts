import { describe, expect, it } from 'vitest';
import { EventQueue } from '../event-queue.js';
import { SimBackend, SimDisk } from './sim-backend.js';
import { SimClock, type SimEvent } from './sim-clock.js';

const k = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Runs events, letting the promises each one starts settle before the next, as the simulator does. */
async function runAll(queue: EventQueue<SimEvent>): Promise<void> {
  for (;;) {
    await new Promise((r) => setImmediate(r));
    const next = queue.pop();
    if (next === undefined) return;
    next();
  }
}

function read(b: SimBackend, key: string): string | undefined {
  const v = b.readTxn();
  try {
    const got = v.get('b', k(key));
    return got === undefined ? undefined : new TextDecoder().decode(got);
  } finally {
    v.release();
  }
}

describe('SimDisk and SimBackend', () => {
  it('commits batches in call order after the disk delay, and keeps them through a crash', async () => {
    const queue = new EventQueue<SimEvent>();
    const disk = new SimDisk(new SimClock(queue), () => 5);
    const b = disk.open();
    const done: string[] = [];
    void b.batch((t) => t.put('b', k('x'), k('1'))).then(() => done.push('1'));
    void b.batch((t) => t.put('b', k('x'), k('2'))).then(() => done.push('2'));
    expect(read(b, 'x')).toBeUndefined();
    await runAll(queue);
    expect(done).toEqual(['1', '2']);
    expect(queue.now).toBe(10);
    disk.crash();
    expect(() => b.readTxn()).toThrow(/crashed/);
    expect(read(disk.open(), 'x')).toBe('2');
  });

  it('loses the batch in flight at a crash; its caller never hears back', async () => {
    const queue = new EventQueue<SimEvent>();
    const disk = new SimDisk(new SimClock(queue), () => 5);
    const b = disk.open();
    await Promise.all([b.batch((t) => t.put('b', k('x'), k('kept'))), runAll(queue)]);
    let settled = false;
    void b.batch((t) => t.put('b', k('x'), k('lost'))).finally(() => (settled = true));
    disk.crash();
    await runAll(queue);
    expect(settled).toBe(false);
    expect(read(disk.open(), 'x')).toBe('kept');
  });
});
