import {
  ConfChangeType,
  MemoryStorage,
  RaftError,
  RaftNode,
  applyConfChange,
  bootstrapState,
  decodeConfChange,
  describeEntry,
  describeMessage,
  describeReady,
  isRaftError,
  EntryType,
  type ConfChange,
  type ConfState,
  type Message,
  type Snapshot,
} from '../../../src/raft/index.js';

/**
 * A deterministic cluster of RaftNodes driven by text commands, for the data-driven tests in
 * ../testdata. Nothing moves unless a command says so: ticks, Ready handling and message
 * delivery are all explicit, so every interleaving in a test file is the one written down.
 *
 * Messages leave a node only through process-ready, which queues them per recipient; they are
 * stepped only by deliver-msgs (or stabilize). Persistence is synchronous, so every message
 * may be queued at once whatever its waitForPersistence flag says.
 */

const DEFAULT_ELECTION_TICK = 10;
const DEFAULT_HEARTBEAT_TICK = 1;

interface NodeHandle {
  readonly id: number;
  node: RaftNode;
  /** A new RaftNode over the same storage, as a restart after a crash makes it. */
  readonly boot: (applied: number) => RaftNode;
  readonly storage: MemoryStorage;
  readonly electionTick: number;
  readonly heartbeatTick: number;
  /** The configuration from each applied index on, so a snapshot at any applied index gets the right one. */
  confHistory: { index: number; conf: ConfState }[];
  applied: number;
}

/** One command: its name, positional arguments and key=value arguments. */
export interface Command {
  readonly name: string;
  readonly positional: readonly string[];
  readonly kv: ReadonlyMap<string, string>;
}

export function parseCommand(line: string, argLines: readonly string[] = []): Command {
  const tokens = [line, ...argLines].join(' ').match(/[^\s=]+=\([^)]*\)|\S+/g) ?? [];
  if (tokens.length === 0) throw new Error('empty command');
  const positional: string[] = [];
  const kv = new Map<string, string>();
  for (const t of tokens.slice(1)) {
    const eq = t.indexOf('=');
    if (eq > 0) kv.set(t.slice(0, eq), t.slice(eq + 1));
    else positional.push(t);
  }
  return { name: tokens[0]!, positional, kv };
}

export class InteractionEnv {
  private readonly nodes = new Map<number, NodeHandle>();
  /** Undelivered messages, by recipient, in the order they were sent. */
  private readonly queues = new Map<number, Message[]>();
  /** Nodes cut off from everyone: messages to or from them are dropped on delivery. */
  private readonly isolated = new Set<number>();

  /** Runs one command and returns its output lines ("ok" when it has nothing to say). */
  handle(cmd: Command): string[] {
    const out: string[] = [];
    try {
      this.dispatch(cmd, out);
    } catch (e) {
      // Refusals the API documents (dropped proposals, ...) are part of the scenario's output;
      // anything else is a harness or core bug and must fail the test loudly.
      if (!(e instanceof RaftError)) throw e;
      out.push(`error: ${e.code}: ${e.message}`);
    }
    return out.length > 0 ? out : ['ok'];
  }

  private dispatch(cmd: Command, out: string[]): void {
    switch (cmd.name) {
      case 'add-nodes':
        return this.addNodes(cmd, out);
      case 'campaign':
        return this.node(cmd, 0).node.campaign();
      case 'propose':
        return this.node(cmd, 0).node.propose(new TextEncoder().encode(arg(cmd, 1)));
      case 'propose-conf-change':
        return this.node(cmd, 0).node.proposeConfChange(parseConfChange(arg(cmd, 1), arg(cmd, 2)));
      case 'tick':
        return this.tick(this.node(cmd, 0), int(arg(cmd, 1)));
      case 'tick-heartbeat': {
        const h = this.node(cmd, 0);
        return this.tick(h, h.heartbeatTick);
      }
      case 'tick-election': {
        const h = this.node(cmd, 0);
        return this.tick(h, h.electionTick);
      }
      case 'read-index':
        return this.node(cmd, 0).node.readIndex(new TextEncoder().encode(arg(cmd, 1)));
      case 'transfer-leader':
        return this.handleOf(int(kvArg(cmd, 'from'))).node.transferLeader(int(kvArg(cmd, 'to')));
      case 'report-snapshot': {
        const ok = (cmd.kv.get('ok') ?? 'true') === 'true';
        return this.handleOf(int(kvArg(cmd, 'from'))).node.reportSnapshot(int(kvArg(cmd, 'to')), ok);
      }
      case 'compact':
        return this.compact(this.node(cmd, 0), int(arg(cmd, 1)), out);
      case 'process-ready':
        for (const h of this.selected(cmd)) this.processReady(h, out);
        return;
      case 'deliver-msgs':
        return this.deliverMsgs(cmd, out);
      case 'stabilize':
        return this.stabilize(this.selected(cmd), out);
      case 'restart':
        for (const h of this.selected(cmd)) this.restart(h);
        return;
      case 'isolate':
        this.isolated.add(this.node(cmd, 0).id);
        return;
      case 'heal':
        this.isolated.clear();
        return;
      case 'status':
        for (const h of this.selected(cmd)) this.printStatus(h, out);
        return;
      case 'raft-state':
        for (const h of this.nodes.values()) out.push(this.stateLine(h));
        return;
      case 'log':
        for (const h of this.selected(cmd)) this.printLog(h, out);
        return;
      default:
        throw new Error(`unknown command ${cmd.name}`);
    }
  }

  // ---- nodes -----------------------------------------------------------------------------

  /**
   * add-nodes N [voters=(..)] [learners=(..)] [index=I] [prevote=b] [checkquorum=b]
   *           [electiontick=E] [heartbeattick=H] [jitter=(..)]
   * With voters, the new nodes are founders starting from the bootstrap snapshot; without,
   * they start empty like a member about to join. jitter lists, per new node, what random()
   * returns, so a node's election timeout is electiontick + jitter (default 0: exactly E).
   */
  private addNodes(cmd: Command, out: string[]): void {
    const n = int(arg(cmd, 0));
    const votersArg = cmd.kv.get('voters');
    const learners = idList(cmd.kv.get('learners') ?? '()');
    const index = int(cmd.kv.get('index') ?? '1');
    const jitter = idList(cmd.kv.get('jitter') ?? '()');
    const electionTick = int(cmd.kv.get('electiontick') ?? String(DEFAULT_ELECTION_TICK));
    const heartbeatTick = int(cmd.kv.get('heartbeattick') ?? String(DEFAULT_HEARTBEAT_TICK));
    let boot: { snapshot: Snapshot; hardState: { term: number; vote: number; commit: number } } | undefined;
    if (votersArg !== undefined) {
      const b = bootstrapState(idList(votersArg));
      boot = {
        snapshot: {
          data: b.snapshot.data,
          metadata: { ...b.snapshot.metadata, index, confState: { voters: b.snapshot.metadata.confState.voters, learners } },
        },
        hardState: { ...b.hardState, commit: index },
      };
    }
    const first = this.nodes.size + 1;
    for (let i = 0; i < n; i++) {
      const id = first + i;
      const storage = new MemoryStorage();
      if (boot !== undefined) {
        storage.applySnapshot(boot.snapshot);
        storage.setHardState(boot.hardState);
      }
      const j = jitter[i] ?? 0;
      const start = (applied: number): RaftNode =>
        new RaftNode({
          id,
          storage,
          applied,
          electionTick,
          heartbeatTick,
          preVote: cmd.kv.get('prevote') === 'true',
          checkQuorum: cmd.kv.get('checkquorum') === 'true',
          random: (range) => Math.min(j, range - 1),
        });
      const node = start(0);
      const snap = storage.snapshot().metadata;
      this.nodes.set(id, {
        id,
        node,
        boot: start,
        storage,
        electionTick,
        heartbeatTick,
        confHistory: [{ index: snap.index, conf: snap.confState }],
        applied: snap.index,
      });
      out.push(this.stateLine(this.nodes.get(id)!));
    }
  }

  private node(cmd: Command, pos: number): NodeHandle {
    return this.handleOf(int(arg(cmd, pos)));
  }

  private handleOf(id: number): NodeHandle {
    const h = this.nodes.get(id);
    if (h === undefined) throw new Error(`no node ${id}`);
    return h;
  }

  /** The nodes named by positional ids, or all of them in id order. */
  private selected(cmd: Command): NodeHandle[] {
    if (cmd.positional.length === 0) return [...this.nodes.values()];
    return cmd.positional.map((p) => this.handleOf(int(p)));
  }

  /**
   * restart ID...: the node crashes and starts again from its storage (persistence here is
   * synchronous, so it keeps everything it persisted, including a commit index that may lag
   * the cluster's) and its applied index; messages queued to it are lost.
   */
  private restart(h: NodeHandle): void {
    this.queues.delete(h.id);
    h.node = h.boot(h.applied);
  }

  private tick(h: NodeHandle, n: number): void {
    for (let i = 0; i < n; i++) h.node.tick();
  }

  // ---- Ready -----------------------------------------------------------------------------

  /** Carries out one Ready the way raft-node.ts documents it; prints it. */
  private processReady(h: NodeHandle, out: string[]): boolean {
    if (!h.node.hasReady()) return false;
    const rd = h.node.ready();
    out.push(`> ${h.id} handling Ready${rd.mustSync ? ' (MustSync)' : ''}`);
    for (const l of describeReady(rd)) out.push(`  ${l}`);

    // 1. Persist: snapshot, entries, hard state.
    if (rd.snapshot !== undefined) h.storage.applySnapshot(rd.snapshot);
    h.storage.append(rd.entries);
    if (rd.hardState !== undefined) h.storage.setHardState(rd.hardState);
    // 2. Send (queue) the messages; persistence above is already complete.
    for (const m of rd.messages) this.enqueue(m.message);
    // 3. Apply, keeping the configuration history needed by compact.
    if (rd.snapshot !== undefined) {
      const md = rd.snapshot.metadata;
      h.confHistory = [{ index: md.index, conf: md.confState }];
      h.applied = md.index;
    }
    let confChanged = false;
    for (const e of rd.committedEntries) {
      if (e.index !== h.applied + 1) throw new Error(`${h.id}: applying ${describeEntry(e)} after ${h.applied}`);
      h.applied = e.index;
      if (e.type !== EntryType.ConfChange) continue;
      const prev = h.confHistory[h.confHistory.length - 1]!.conf;
      try {
        h.confHistory.push({ index: e.index, conf: applyConfChange(prev, decodeConfChange(e.data)) });
        confChanged = true;
      } catch (err) {
        if (!isRaftError(err, 'ErrInvalidConfig')) throw err;
        out.push(`  ConfChange ${e.index} refused: ${err.message}`);
      }
    }
    h.node.advance(rd);
    if (confChanged) out.push(`  Applied ConfState ${describeConf(h.node.confState())}`);
    // The node applies conf changes itself in advance(); it must agree with our bookkeeping.
    const ours = h.confHistory[h.confHistory.length - 1]!.conf;
    if (describeConf(ours) !== describeConf(h.node.confState())) {
      throw new Error(`${h.id}: node config ${describeConf(h.node.confState())} != applied ${describeConf(ours)}`);
    }
    return true;
  }

  private enqueue(m: Message): void {
    let q = this.queues.get(m.to);
    if (q === undefined) this.queues.set(m.to, (q = []));
    q.push(m);
  }

  // ---- delivery --------------------------------------------------------------------------

  /** deliver-msgs [ID...] [drop=(ids)]: step queued messages to the given (or all) nodes. */
  private deliverMsgs(cmd: Command, out: string[]): void {
    const drop = new Set(idList(cmd.kv.get('drop') ?? '()'));
    const targets = cmd.positional.length > 0 ? cmd.positional.map(int) : [...this.queues.keys()].sort((a, b) => a - b);
    for (const to of new Set([...targets, ...drop])) this.deliverTo(to, drop.has(to), out);
  }

  private deliverTo(to: number, drop: boolean, out: string[]): boolean {
    const q = this.queues.get(to);
    if (q === undefined || q.length === 0) return false;
    this.queues.set(to, []);
    out.push(`> ${to} receiving messages`);
    for (const m of q) {
      const h = this.nodes.get(to);
      if (drop || h === undefined || this.isolated.has(m.to) || this.isolated.has(m.from)) {
        out.push(`  dropped: ${describeMessage(m)}`);
        continue;
      }
      out.push(`  ${describeMessage(m)}`);
      try {
        h.node.step(m);
      } catch (e) {
        if (!(e instanceof RaftError)) throw e;
        out.push(`  error: ${e.code}: ${e.message}`);
      }
    }
    return true;
  }

  /** Handles Readies and delivers messages among `nodes` until nothing moves. */
  private stabilize(nodes: NodeHandle[], out: string[]): void {
    for (let round = 0; ; round++) {
      if (round > 1000) throw new Error('stabilize did not converge');
      let moved = false;
      for (const h of nodes) moved = this.processReady(h, out) || moved;
      for (const h of nodes) moved = this.deliverTo(h.id, false, out) || moved;
      if (!moved) return;
    }
  }

  // ---- storage ---------------------------------------------------------------------------

  /** Snapshots the state machine at `index` (applied) and discards the log up to it. */
  private compact(h: NodeHandle, index: number, out: string[]): void {
    if (index > h.applied) throw new Error(`${h.id}: cannot snapshot at ${index}, applied is ${h.applied}`);
    const conf = [...h.confHistory].reverse().find((c) => c.index <= index)!.conf;
    h.storage.createSnapshot(index, conf, new Uint8Array(0));
    h.storage.compact(index);
    this.printLog(h, out);
  }

  private printLog(h: NodeHandle, out: string[]): void {
    const s = h.storage;
    const md = s.snapshot().metadata;
    out.push(`${h.id}: Snapshot Index:${md.index} Term:${md.term} ${describeConf(md.confState)}`);
    if (s.lastIndex() >= s.firstIndex()) {
      for (const e of s.entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER)) out.push(`  ${describeEntry(e)}`);
    }
  }

  // ---- status ----------------------------------------------------------------------------

  private stateLine(h: NodeHandle): string {
    const st = h.node.status();
    const cs = st.confState;
    const role = cs.voters.includes(h.id) ? 'Voter' : cs.learners.includes(h.id) ? 'Learner' : 'NonMember';
    const hs = st.hardState;
    const iso = this.isolated.has(h.id) ? ' isolated' : '';
    return `${h.id}: ${st.softState.state} (${role}) Term:${hs.term} Vote:${hs.vote} Lead:${st.softState.lead} Commit:${hs.commit} Applied:${st.applied}${iso}`;
  }

  private printStatus(h: NodeHandle, out: string[]): void {
    const st = h.node.status();
    out.push(this.stateLine(h));
    out.push(`  ${describeConf(st.confState)}`);
    if (st.leadTransferee !== 0) out.push(`  LeadTransferee:${st.leadTransferee}`);
    for (const [id, p] of [...st.progress].sort((a, b) => a[0] - b[0])) out.push(`  ${id}: ${p}`);
  }
}

function describeConf(cs: ConfState): string {
  return `Voters:[${cs.voters.join(',')}] Learners:[${cs.learners.join(',')}]`;
}

function parseConfChange(kind: string, id: string): ConfChange {
  const types: Record<string, ConfChangeType> = {
    'add-node': ConfChangeType.AddNode,
    'add-learner': ConfChangeType.AddLearner,
    remove: ConfChangeType.RemoveNode,
  };
  const type = types[kind];
  if (type === undefined) throw new Error(`unknown conf change ${kind}`);
  return { type, nodeId: int(id) };
}

function arg(cmd: Command, i: number): string {
  const v = cmd.positional[i];
  if (v === undefined) throw new Error(`${cmd.name}: missing argument ${i + 1}`);
  return v;
}

function kvArg(cmd: Command, key: string): string {
  const v = cmd.kv.get(key);
  if (v === undefined) throw new Error(`${cmd.name}: missing ${key}=`);
  return v;
}

function int(s: string): number {
  if (!/^\d+$/.test(s)) throw new Error(`not a number: ${s}`);
  return Number(s);
}

/** "(1,2,3)" or "3" → [1, 2, 3] / [3]. */
function idList(s: string): number[] {
  const inner = s.startsWith('(') && s.endsWith(')') ? s.slice(1, -1) : s;
  return inner.split(',').map((x) => x.trim()).filter((x) => x !== '').map(int);
}
