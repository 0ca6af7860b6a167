/**
 * The records the Raft core reads and writes. Field names and message type numbers follow
 * etcd's raftpb so the peer transport can map them one to one.
 *
 * Node ids, terms and indexes are JavaScript numbers: safe integers (< 2^53) are plenty for
 * terms and indexes, and kvfleet generates member ids inside that range.
 */

/** 0 means "no node" (no leader, no vote). */
export const NONE = 0;

export enum EntryType {
  Normal = 0,
  ConfChange = 1,
}

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Opaque to Raft. Empty for the no-op a new leader appends. */
  readonly data: Uint8Array;
}

export enum MessageType {
  MsgHup = 0,
  MsgBeat = 1,
  MsgProp = 2,
  MsgApp = 3,
  MsgAppResp = 4,
  MsgVote = 5,
  MsgVoteResp = 6,
  MsgSnap = 7,
  MsgHeartbeat = 8,
  MsgHeartbeatResp = 9,
  MsgUnreachable = 10,
  MsgSnapStatus = 11,
  MsgCheckQuorum = 12,
  MsgTransferLeader = 13,
  MsgTimeoutNow = 14,
  MsgReadIndex = 15,
  MsgReadIndexResp = 16,
  MsgPreVote = 17,
  MsgPreVoteResp = 18,
}

export interface Message {
  type: MessageType;
  to: number;
  from: number;
  /** 0 for local messages (MsgHup, MsgProp from the application, ...). */
  term: number;
  /** Term of the entry at `index` (MsgApp), or of the candidate's last entry (votes). */
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot;
  reject: boolean;
  /** On a rejected MsgAppResp: the follower's best guess of where the logs agree. */
  rejectHint: number;
  /** Opaque context: ReadIndex round ids, the leader-transfer campaign marker. */
  context: Uint8Array;
}

export interface HardState {
  readonly term: number;
  readonly vote: number;
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NONE, commit: 0 };

export interface ConfState {
  readonly voters: readonly number[];
  readonly learners: readonly number[];
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export interface Snapshot {
  /** The application's state machine at `metadata.index`; opaque to Raft. */
  readonly data: Uint8Array;
  readonly metadata: SnapshotMetadata;
}

export const EMPTY_SNAPSHOT: Snapshot = {
  data: new Uint8Array(0),
  metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } },
};

export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  /** etcd's UpdateNode: changes only the application's view of a member (its URLs); a no-op for Raft. */
  UpdateNode = 2,
  AddLearner = 3,
}

/** One single-server membership change; see docs/raft.md for why one at a time is safe. */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: number;
  /** Opaque to Raft: what the application needs to apply the change (etcd's ConfChange.Context). */
  readonly context?: Uint8Array;
}

export enum StateType {
  Follower = 'Follower',
  PreCandidate = 'PreCandidate',
  Candidate = 'Candidate',
  Leader = 'Leader',
}

/** Volatile state worth telling the application about; not persisted. */
export interface SoftState {
  readonly lead: number;
  readonly state: StateType;
}

/** The answer to a ReadIndex request: reads are linearizable once applied >= index. */
export interface ReadState {
  readonly index: number;
  readonly requestCtx: Uint8Array;
}

export function isEmptySnapshot(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

/** Shared by every message without entries; never mutated. */
const NO_ENTRIES: Entry[] = [];

export function newMessage(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  // Written out field by field: this runs for every message and object spread is slow.
  const m: Message = {
    type: fields.type,
    to: fields.to ?? NONE,
    from: fields.from ?? NONE,
    term: fields.term ?? 0,
    logTerm: fields.logTerm ?? 0,
    index: fields.index ?? 0,
    entries: fields.entries ?? NO_ENTRIES,
    commit: fields.commit ?? 0,
    reject: fields.reject ?? false,
    rejectHint: fields.rejectHint ?? 0,
    context: fields.context ?? EMPTY_BYTES,
  };
  if (fields.snapshot !== undefined) m.snapshot = fields.snapshot;
  return m;
}


export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** Messages that only ever stay inside one node. */
export function isLocalMessage(t: MessageType): boolean {
  return (
    t === MessageType.MsgHup ||
    t === MessageType.MsgBeat ||
    t === MessageType.MsgUnreachable ||
    t === MessageType.MsgSnapStatus ||
    t === MessageType.MsgCheckQuorum
  );
}

export function isResponseMessage(t: MessageType): boolean {
  return (
    t === MessageType.MsgAppResp ||
    t === MessageType.MsgVoteResp ||
    t === MessageType.MsgHeartbeatResp ||
    t === MessageType.MsgUnreachable ||
    t === MessageType.MsgPreVoteResp
  );
}

/** The response type for a (pre-)vote request. */
export function voteResponseType(t: MessageType): MessageType {
  switch (t) {
    case MessageType.MsgVote:
      return MessageType.MsgVoteResp;
    case MessageType.MsgPreVote:
      return MessageType.MsgPreVoteResp;
    default:
      throw new Error(`not a vote message: ${MessageType[t]}`);
  }
}
