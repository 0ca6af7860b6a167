import type { raft } from '@kvfleet/server';

/**
 * The simulated application: it remembers only how far it applied and a hash chained over
 * every applied entry, which is enough to compare histories across nodes and snapshots.
 */
export interface SimState {
  applied: number;
  hash: number;
}

/** A 32-bit FNV-1a fingerprint of an entry's identity (term, type, data). */
export function fingerprint(e: raft.Entry): number {
  let h = 0x811c9dc5;
  h = mix(h, e.term);
  h = mix(h, e.type);
  for (const b of e.data) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

export function chain(hash: number, fp: number): number {
  return mix(mix(hash, fp), 0x9e3779b9);
}

function mix(h: number, v: number): number {
  let x = h;
  for (let i = 0; i < 4; i++) {
    x = Math.imul(x ^ (v & 0xff), 0x01000193) >>> 0;
    v = Math.floor(v / 256);
  }
  return x;
}

export function encodeState(s: SimState): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(s));
}

/** The bootstrap snapshot carries no data: the state at index 1 is empty. */
export function decodeState(snapshot: raft.Snapshot): SimState {
  if (snapshot.data.length === 0) return { applied: snapshot.metadata.index, hash: 0 };
  return JSON.parse(new TextDecoder().decode(snapshot.data)) as SimState;
}

const PROPOSAL_PREFIX = 'p';

export function encodeProposal(id: number): Uint8Array {
  return new TextEncoder().encode(`${PROPOSAL_PREFIX}${id}`);
}

/** The proposal id carried by a normal entry, if any. */
export function decodeProposal(e: raft.Entry): number | undefined {
  if (e.type !== 0 || e.data.length < 2 || e.data[0] !== PROPOSAL_PREFIX.charCodeAt(0)) return undefined;
  return Number(new TextDecoder().decode(e.data.subarray(1)));
}
