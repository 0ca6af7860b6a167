import type { Ready } from './raft-node.js';
import { ConfChangeType, EntryType, MessageType, type Entry, type Message } from './types.js';
import { decodeConfChange } from './confchange.js';

/** Readable one-line forms used by interaction tests, the simulator's traces and logs. */

export function describeEntry(e: Entry): string {
  if (e.type === EntryType.ConfChange) {
    const cc = decodeConfChange(e.data);
    return `${e.term}/${e.index} ConfChange ${ConfChangeType[cc.type]} ${cc.nodeId}`;
  }
  if (e.data.length === 0) return `${e.term}/${e.index} EntryNormal ""`;
  return `${e.term}/${e.index} EntryNormal ${JSON.stringify(printable(e.data))}`;
}

export function describeMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${MessageType[m.type]} Term:${m.term} Log:${m.logTerm}/${m.index}`;
  if (m.commit !== 0) s += ` Commit:${m.commit}`;
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.entries.length > 0) s += ` Entries:[${m.entries.map(describeEntry).join(', ')}]`;
  if (m.snapshot !== undefined) {
    const md = m.snapshot.metadata;
    s += ` Snapshot: Index:${md.index} Term:${md.term} Voters:[${md.confState.voters.join(',')}]`;
    if (md.confState.learners.length > 0) s += ` Learners:[${md.confState.learners.join(',')}]`;
  }
  if (m.context.length > 0) s += ` Context:${JSON.stringify(printable(m.context))}`;
  return s;
}

export function describeReady(rd: Ready): string[] {
  const out: string[] = [];
  if (rd.softState) out.push(`Lead:${rd.softState.lead} State:${rd.softState.state}`);
  if (rd.hardState) out.push(`HardState Term:${rd.hardState.term} Vote:${rd.hardState.vote} Commit:${rd.hardState.commit}`);
  if (rd.entries.length > 0) {
    out.push('Entries:');
    for (const e of rd.entries) out.push(`  ${describeEntry(e)}`);
  }
  if (rd.snapshot) {
    const md = rd.snapshot.metadata;
    out.push(`Snapshot Index:${md.index} Term:${md.term} Voters:[${md.confState.voters.join(',')}] Learners:[${md.confState.learners.join(',')}]`);
  }
  if (rd.committedEntries.length > 0) {
    out.push('CommittedEntries:');
    for (const e of rd.committedEntries) out.push(`  ${describeEntry(e)}`);
  }
  if (rd.messages.length > 0) {
    out.push('Messages:');
    for (const m of rd.messages) out.push(`  ${describeMessage(m.message)}${m.waitForPersistence ? '' : ' (early)'}`);
  }
  if (rd.readStates.length > 0) {
    out.push('ReadStates:');
    for (const r of rd.readStates) out.push(`  Index:${r.index} Ctx:${JSON.stringify(printable(r.requestCtx))}`);
  }
  return out;
}

function printable(b: Uint8Array): string {
  let allPrintable = true;
  for (const c of b) if (c < 0x20 || c > 0x7e) allPrintable = false;
  if (allPrintable) return new TextDecoder().decode(b);
  return `0x${Buffer.from(b).toString('hex')}`;
}
