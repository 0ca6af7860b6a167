import { parseArgs } from 'node:util';
import { SeededRandom } from '@kvfleet/core';
import { raft } from '@kvfleet/server';

/**
 * Proposals committed per second through a 3-node in-process Raft cluster on MemoryStorage:
 * the cost of the consensus core alone (no disk, no network, no encoding). Messages are
 * delivered at once, in order; each round the client proposes `batch` entries on the leader.
 * Not a test: run with `npm run bench:raft -- --seconds 5 --batch 1,16,256`.
 */
const { RaftNode, MemoryStorage, StateType, bootstrapState } = raft;
type Node = InstanceType<typeof raft.RaftNode>;
type Storage = InstanceType<typeof raft.MemoryStorage>;

interface Member {
  node: Node;
  storage: Storage;
  applied: number;
}

function makeCluster(size: number): Member[] {
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const boot = bootstrapState(ids);
  const rand = new SeededRandom(1);
  return ids.map((id) => {
    const storage = new MemoryStorage();
    storage.applySnapshot(boot.snapshot);
    storage.setHardState(boot.hardState);
    const node = new RaftNode({ id, storage, electionTick: 10, heartbeatTick: 1, checkQuorum: true, preVote: true, random: (n) => rand.int(n) });
    return { node, storage, applied: 0 };
  });
}

/** Runs ready/advance and delivery until the cluster is quiet. Returns entries applied on member 0. */
function settle(members: Member[]): void {
  for (;;) {
    let busy = false;
    for (const m of members) {
      while (m.node.hasReady()) {
        busy = true;
        const rd = m.node.ready();
        if (rd.snapshot) m.storage.applySnapshot(rd.snapshot);
        m.storage.append(rd.entries);
        if (rd.hardState) m.storage.setHardState(rd.hardState);
        for (const out of rd.messages) members[out.message.to - 1]!.node.step(out.message);
        m.applied += rd.committedEntries.length;
        m.node.advance(rd);
      }
    }
    if (!busy) return;
  }
}

function measure(batch: number, seconds: number, valueBytes: number): { proposals: number; perSecond: number } {
  const members = makeCluster(3);
  members[0]!.node.campaign();
  settle(members);
  const leader = members.find((m) => m.node.state === StateType.Leader)!;
  const payload = new Uint8Array(valueBytes).fill(7);
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let proposals = 0;
  let compactAt = 10_000;
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < batch; i++) leader.node.propose(payload);
    proposals += batch;
    settle(members);
    // Keep memory flat over long runs, as a server would by snapshotting.
    if (leader.storage.lastIndex() > compactAt) {
      for (const m of members) m.storage.compact(m.node.status().applied - 1000);
      compactAt += 10_000;
    }
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const committedOnAll = Math.min(...members.map((m) => m.applied));
  if (committedOnAll < proposals) throw new Error(`only ${committedOnAll} of ${proposals} applied everywhere`);
  return { proposals, perSecond: proposals / elapsed };
}

const { values } = parseArgs({ options: { seconds: { type: 'string' }, batch: { type: 'string' }, value: { type: 'string' } } });
const seconds = Number(values.seconds ?? 5);
const batches = (values.batch ?? '1,16,256').split(',').map(Number);
const valueBytes = Number(values.value ?? 128);
console.log(`3 members, in-process, MemoryStorage, ${valueBytes} B values, ${seconds} s per row, node ${process.version}`);
console.log('| proposals per round | proposals committed | committed per second |');
console.log('|---:|---:|---:|');
for (const batch of batches) {
  const r = measure(batch, seconds, valueBytes);
  console.log(`| ${batch} | ${r.proposals} | ${Math.round(r.perSecond).toLocaleString('en-US')} |`);
}
