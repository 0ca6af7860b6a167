import { describe, expect, it } from 'vitest';
import { hexId, StatusHistory, statusFields } from '../../src/status/index.js';

const sample = (t: number) => ({ t, writes: t * 10, reads: t * 20, lag: 0 });

describe('StatusHistory', () => {
  it('keeps the newest samples, oldest first, within its capacity', () => {
    const h = new StatusHistory(3);
    expect(h.samples()).toEqual([]);
    h.add(sample(1));
    h.add(sample(2));
    expect(h.samples().map((s) => s.t)).toEqual([1, 2]);
    for (let t = 3; t <= 7; t++) h.add(sample(t));
    expect(h.samples().map((s) => s.t)).toEqual([5, 6, 7]);
  });

  it('refuses a capacity that cannot hold a rate', () => {
    expect(() => new StatusHistory(1)).toThrow(RangeError);
  });
});

describe('statusFields', () => {
  it('reads a Status answer, ids in hex as etcdctl prints them', () => {
    const f = statusFields({
      header: { revision: 42 },
      version: '3.5.0',
      dbSize: 8192,
      dbSizeInUse: 4096,
      leader: '10276657743932975437',
      raftIndex: 9,
      raftTerm: 2,
      raftAppliedIndex: 9,
      errors: ['etcdserver: no leader'],
    });
    expect(f).toEqual({
      version: '3.5.0',
      raftTerm: 2,
      raftIndex: 9,
      raftAppliedIndex: 9,
      revision: 42,
      dbSize: 8192,
      dbSizeInUse: 4096,
      leader: '8e9e05c52164694d',
      errors: ['etcdserver: no leader'],
    });
    expect(hexId(0)).toBe('0');
  });
});
