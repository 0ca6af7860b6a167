/**
 * The write-ahead log of a Raft member: entries, hard state and snapshot markers, appended to
 * segment files in a directory and made durable before the member acts on them (step 1 of the
 * Ready contract in docs/raft.md).
 *
 * Writes go through one writer loop. While it waits for an fdatasync, further saves queue up;
 * when the sync returns they are written together and covered by a single next sync (group
 * commit), so a busy member pays one sync per round trip to the disk, not one per save.
 */
import type { FileHandle, FileSystem } from '../env/file-system.js';
import { NODE_FS } from '../env/node-file-system.js';
import { join } from 'node:path';
import { EMPTY_HARD_STATE, type Entry, type HardState } from '../raft/types.js';
import { WalCorruptError, WalError } from './errors.js';
import { encodeRecord, RecordType, type SnapshotMarker } from './record.js';
import { LogReplay } from './replay.js';
import {
  createSegmentFile,
  listDirectory,
  removeLeftovers,
  scanSegment,
  segmentName,
  type SegmentId,
  type SegmentScan,
} from './segment.js';
import { defaultSync, makeDurableDirectory, syncDirectory, type SyncHook } from './sync.js';

const MIB = 1024 * 1024;

export interface WalOptions {
  /** A segment that has reached this size gets no more records; the next save starts a new one. Default 64 MiB. */
  segmentBytes?: number;
  /**
   * Bytes accepted by save() but not yet durable beyond which further saves are refused with
   * ErrWalBackpressure. A save is always accepted when nothing is queued. Default 64 MiB.
   */
  maxQueuedBytes?: number;
  /** Makes writes durable; replace it in tests to count or slow down syncs. Default: defaultSync. */
  sync?: SyncHook;
  /** Where the segments live: the member's file system (env/). Default: the real one. */
  fs?: FileSystem;
}

export interface WalCreateOptions extends WalOptions {
  /** Opaque bytes (cluster and member id, ...) stored at the start of every segment. */
  metadata: Uint8Array;
}

/** One save: Raft's new entries and, if it changed, its hard state. */
export interface SaveRequest {
  /** Contiguous and ascending. Starting below the current end replaces the entries from there on. */
  readonly entries: readonly Entry[];
  readonly hardState?: HardState;
  /**
   * False when the save need not be durable (Raft's Ready.mustSync: only the commit index
   * changed, which a restarted member learns again from the leader): written, not fsynced
   * unless another save in the same batch needs it. Default true.
   */
  readonly sync?: boolean;
}

/** What open() cut off the end of the last segment. */
export interface TailRepair {
  readonly segment: string;
  /** The new length of the segment: the end of its last valid record. */
  readonly offset: number;
  readonly droppedBytes: number;
  readonly reason: string;
}

export interface WalOpenResult {
  /** The log, ready to append to. */
  readonly wal: Wal;
  readonly metadata: Uint8Array;
  /** The last hard state saved; EMPTY_HARD_STATE if none ever was. */
  readonly hardState: HardState;
  /** The last snapshot marker saved, if any. */
  readonly snapshot: SnapshotMarker | undefined;
  /** The entries after the snapshot (from index 1 without one), contiguous, as last written. */
  readonly entries: Entry[];
  /** Set if a torn or corrupt tail of the last segment was truncated. */
  readonly repaired: TailRepair | undefined;
}

interface Settings {
  readonly segmentBytes: number;
  readonly maxQueuedBytes: number;
  readonly sync: SyncHook;
  readonly fs: FileSystem;
}

interface SegmentState {
  readonly id: SegmentId;
  /** Highest entry index ever written to the segment; 0 if none. Decides whether it may be released. */
  maxEntryIndex: number;
}

interface ActiveSegment {
  readonly state: SegmentState;
  readonly handle: FileHandle;
  /** Bytes written so far; the position of the next write. */
  size: number;
}

/** A save (or snapshot marker) accepted and waiting for the disk. */
interface PendingOp {
  readonly frames: Uint8Array[];
  readonly bytes: number;
  readonly firstEntryIndex: number | undefined;
  readonly lastEntryIndex: number | undefined;
  readonly hardState: HardState | undefined;
  readonly snapshot: SnapshotMarker | undefined;
  /** Whether it must be fsynced before it resolves. */
  readonly sync: boolean;
  resolve(): void;
  reject(e: unknown): void;
}

type Draft = Omit<PendingOp, 'resolve' | 'reject'>;

/** Where the log stands: tracked once in call order (to validate saves) and once in write order. */
interface LogPosition {
  lastIndex: number;
  snapshotIndex: number;
}

interface WalInit {
  readonly dir: string;
  readonly metadata: Uint8Array;
  readonly settings: Settings;
  readonly segments: SegmentState[];
  readonly active: ActiveSegment;
  readonly hardState: HardState | undefined;
  readonly snapshot: { readonly marker: SnapshotMarker; readonly seq: number } | undefined;
  readonly lastIndex: number;
}

export class Wal {
  readonly dir: string;
  private readonly settings: Settings;
  private readonly metadataFrame: Uint8Array;
  /** Every segment on disk, oldest first; the last is the active one. */
  private readonly segments: SegmentState[];
  private active: ActiveSegment;

  private queue: PendingOp[] = [];
  private queuedBytes = 0;
  private draining = false;
  private drainDone: Promise<void> = Promise.resolve();
  private releaseChain: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;
  /** Set when a write or sync failed: what reached the disk is unknown, so nothing more is written. */
  private failure: WalError | undefined;

  private readonly accepted: LogPosition;
  private readonly written: LogPosition;
  /** The latest hard state written, repeated at the start of each new segment so releasing old ones never loses it. */
  private writtenHardState: HardState | undefined;
  /** The latest durable snapshot marker and the segment holding it; releaseTo never goes past it. */
  private durableSnapshot: { readonly marker: SnapshotMarker; readonly seq: number } | undefined;

  private constructor(init: WalInit) {
    this.dir = init.dir;
    this.settings = init.settings;
    this.metadataFrame = encodeRecord({ type: RecordType.Metadata, metadata: init.metadata });
    this.segments = init.segments;
    this.active = init.active;
    this.writtenHardState = init.hardState;
    this.durableSnapshot = init.snapshot;
    const snapshotIndex = init.snapshot?.marker.index ?? 0;
    this.accepted = { lastIndex: init.lastIndex, snapshotIndex };
    this.written = { lastIndex: init.lastIndex, snapshotIndex };
  }

  /**
   * Creates a new, empty log in `dir` (made if missing) whose segments all carry `metadata`.
   * Throws ErrWalExists if `dir` already holds a segment.
   */
  static async create(dir: string, options: WalCreateOptions): Promise<Wal> {
    const settings = resolveSettings(options);
    if (!(options.metadata instanceof Uint8Array)) {
      throw new WalError('ErrWalInvalidArgument', 'metadata must be a Uint8Array');
    }
    await makeDurableDirectory(settings.fs, dir, settings.sync);
    const { segments, leftovers } = await listDirectory(settings.fs, dir);
    if (segments.length > 0) throw new WalError('ErrWalExists', `${dir} holds ${segments[0]!.name}`);
    await removeLeftovers(settings.fs, dir, leftovers, settings.sync);

    // A copy: Buffer#slice would share memory with the caller's buffer.
    const metadata = new Uint8Array(options.metadata);
    const id: SegmentId = { seq: 0, firstIndex: 1, name: segmentName(0, 1) };
    const head = encodeRecord({ type: RecordType.Metadata, metadata });
    const handle = await createSegmentFile(settings.fs, dir, id.name, head, settings.sync);
    const state: SegmentState = { id, maxEntryIndex: 0 };
    return new Wal({
      dir,
      metadata,
      settings,
      segments: [state],
      active: { state, handle, size: head.length },
      hardState: undefined,
      snapshot: undefined,
      lastIndex: 0,
    });
  }

  /**
   * Opens the log in `dir` and reads it back. A torn or corrupt tail of the last segment (a
   * crash during a write) is truncated away; any other damage throws WalCorruptError, and
   * nothing on disk is changed in that case. Throws ErrWalNotFound if there is no log.
   */
  static async open(dir: string, options: WalOptions = {}): Promise<WalOpenResult> {
    const settings = resolveSettings(options);
    const { segments: ids, leftovers } = await listDirectory(settings.fs, dir);
    if (ids.length === 0) throw new WalError('ErrWalNotFound', dir);
    for (let k = 1; k < ids.length; k++) {
      // Released segments are always a prefix, so a hole can only mean a lost file.
      if (ids[k]!.seq !== ids[k - 1]!.seq + 1) {
        throw new WalCorruptError(ids[k]!.name, 0, `segment ${ids[k - 1]!.seq + 1} is missing`);
      }
    }

    const replay = new LogReplay();
    const states: SegmentState[] = [];
    let metadata: Uint8Array | undefined;
    let snapshotSeq = 0;
    let lastScan: SegmentScan | undefined;
    let lastFileBytes = 0;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      const isLast = k === ids.length - 1;
      const buf = await settings.fs.readFile(join(dir, id.name));
      const scan = scanSegment(id.name, buf, isLast);
      const first = scan.records[0]?.record;
      if (first?.type !== RecordType.Metadata) {
        throw new WalCorruptError(id.name, 0, 'segment does not start with a metadata record');
      }
      if (metadata === undefined) metadata = first.metadata;
      else if (!sameBytes(metadata, first.metadata)) {
        throw new WalCorruptError(id.name, 0, 'metadata differs from the first segment');
      }
      let maxEntryIndex = 0;
      for (let r = 1; r < scan.records.length; r++) {
        const { record, offset } = scan.records[r]!;
        if (record.type === RecordType.Metadata) {
          throw new WalCorruptError(id.name, offset, 'metadata record after the start of a segment');
        }
        if (record.type === RecordType.Entry) {
          if (record.entry.index < id.firstIndex) {
            throw new WalCorruptError(id.name, offset, `entry ${record.entry.index} is below the segment's first index ${id.firstIndex}`);
          }
          maxEntryIndex = Math.max(maxEntryIndex, record.entry.index);
        }
        if (record.type === RecordType.Snapshot) snapshotSeq = id.seq;
        replay.apply(record, id.name, offset);
      }
      states.push({ id, maxEntryIndex });
      if (isLast) {
        lastScan = scan;
        lastFileBytes = buf.length;
      }
    }
    const log = replay.finish();

    // Only now that the whole log has been read without error is anything on disk changed.
    await removeLeftovers(settings.fs, dir, leftovers, settings.sync);
    const lastId = ids[ids.length - 1]!;
    const handle = await settings.fs.open(join(dir, lastId.name), 'r+');
    let repaired: TailRepair | undefined;
    try {
      if (lastScan!.tornTail !== undefined) {
        const offset = lastScan!.validBytes;
        await handle.truncate(offset);
        await settings.sync({ kind: 'segment', name: lastId.name, handle, bytes: offset });
        repaired = { segment: lastId.name, offset, droppedBytes: lastFileBytes - offset, reason: lastScan!.tornTail };
      }
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e;
    }

    const wal = new Wal({
      dir,
      metadata: metadata!,
      settings,
      segments: states,
      active: { state: states[states.length - 1]!, handle, size: lastScan!.validBytes },
      hardState: log.hardState,
      snapshot: log.snapshot === undefined ? undefined : { marker: log.snapshot, seq: snapshotSeq },
      lastIndex: log.lastIndex,
    });
    return {
      wal,
      metadata: metadata!,
      hardState: log.hardState ?? EMPTY_HARD_STATE,
      snapshot: log.snapshot,
      entries: log.entries,
      repaired,
    };
  }

  /**
   * Appends `entries` and then `hardState`; resolves once they are durable (written, for a
   * save with `sync: false`). Records reach the
   * disk in the order of save() calls. Entries must continue the log (their first index at most
   * one past its end and above the latest snapshot marker); rejects with ErrWalInvalidArgument
   * otherwise, with ErrWalBackpressure if too much is already waiting for the disk.
   */
  save(request: SaveRequest): Promise<void> {
    let draft: Draft;
    try {
      this.checkWritable();
      draft = this.draftSave(request);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.enqueue(draft);
  }

  /**
   * Records that a snapshot at `marker.index` exists; resolves once durable. From then on
   * open() returns only entries after it, and releaseTo() may free segments up to it. Markers
   * must not move backwards.
   */
  saveSnapshotMarker(marker: SnapshotMarker): Promise<void> {
    let draft: Draft;
    try {
      this.checkWritable();
      if (!Number.isSafeInteger(marker.index) || marker.index < this.accepted.snapshotIndex) {
        throw new WalError(
          'ErrWalInvalidArgument',
          `snapshot index ${String(marker.index)} is below the latest marker ${this.accepted.snapshotIndex}`,
        );
      }
      const frame = encodeRecord({ type: RecordType.Snapshot, snapshot: { index: marker.index, term: marker.term } });
      draft = {
        frames: [frame],
        bytes: frame.length,
        firstEntryIndex: undefined,
        lastEntryIndex: undefined,
        hardState: undefined,
        snapshot: { index: marker.index, term: marker.term },
        sync: true,
      };
    } catch (e) {
      return Promise.reject(e);
    }
    return this.enqueue(draft);
  }

  /**
   * Deletes the oldest segments while each holds only entries <= min(index, latest durable
   * snapshot marker) and comes before the segment holding that marker, so the log can always
   * be replayed from the snapshot. Resolves with the names deleted, once the deletion is durable.
   */
  releaseTo(index: number): Promise<string[]> {
    if (this.closing !== undefined) return Promise.reject(new WalError('ErrWalClosed'));
    if (!Number.isSafeInteger(index) || index < 0) {
      return Promise.reject(new WalError('ErrWalInvalidArgument', `release index ${String(index)}`));
    }
    // One release at a time, so two calls never pick the same files.
    const run = this.releaseChain.then(() => this.release(index));
    this.releaseChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Refuses new work, waits for queued saves to become durable (or fail) and for releases to
   * finish, then closes the active segment. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    while (this.draining) await this.drainDone;
    await this.releaseChain;
    await this.active.handle.close();
  }

  private checkWritable(): void {
    if (this.closing !== undefined) throw new WalError('ErrWalClosed');
    if (this.failure !== undefined) throw this.failure;
  }

  /** Validates and encodes a save now, so the caller may reuse its buffers once save() returns. */
  private draftSave(request: SaveRequest): Draft {
    const { entries, hardState } = request;
    const frames: Uint8Array[] = [];
    let bytes = 0;
    const first = entries[0];
    if (first !== undefined) {
      const ceiling = Math.max(this.accepted.lastIndex, this.accepted.snapshotIndex) + 1;
      if (first.index > ceiling) {
        throw new WalError('ErrWalInvalidArgument', `entry ${first.index} leaves a gap after index ${ceiling - 1}`);
      }
      if (first.index <= this.accepted.snapshotIndex) {
        throw new WalError('ErrWalInvalidArgument', `entry ${first.index} is not above the snapshot at ${this.accepted.snapshotIndex}`);
      }
      for (let k = 0; k < entries.length; k++) {
        const e = entries[k]!;
        if (e.index !== first.index + k) {
          throw new WalError('ErrWalInvalidArgument', `entries are not contiguous: ${e.index} after ${first.index + k - 1}`);
        }
        const frame = encodeRecord({ type: RecordType.Entry, entry: e });
        frames.push(frame);
        bytes += frame.length;
      }
    }
    if (hardState !== undefined) {
      const frame = encodeRecord({ type: RecordType.HardState, hardState });
      frames.push(frame);
      bytes += frame.length;
    }
    return {
      frames,
      bytes,
      firstEntryIndex: first?.index,
      lastEntryIndex: entries[entries.length - 1]?.index,
      hardState: hardState === undefined ? undefined : { term: hardState.term, vote: hardState.vote, commit: hardState.commit },
      snapshot: undefined,
      sync: request.sync !== false,
    };
  }

  private enqueue(draft: Draft): Promise<void> {
    if (this.queuedBytes > 0 && this.queuedBytes + draft.bytes > this.settings.maxQueuedBytes) {
      return Promise.reject(
        new WalError(
          'ErrWalBackpressure',
          `${this.queuedBytes} bytes queued, ${draft.bytes} more would exceed ${this.settings.maxQueuedBytes}`,
        ),
      );
    }
    if (draft.lastEntryIndex !== undefined) this.accepted.lastIndex = draft.lastEntryIndex;
    if (draft.snapshot !== undefined) this.accepted.snapshotIndex = draft.snapshot.index;
    const done = new Promise<void>((resolve, reject) => {
      this.queue.push({ ...draft, resolve, reject });
    });
    this.queuedBytes += draft.bytes;
    this.kick();
    return done;
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    this.drainDone = this.drain();
  }

  /** The writer loop: each round writes everything queued and syncs it once. Never rejects. */
  private async drain(): Promise<void> {
    // Let saves issued in the same synchronous run as the first one join its batch.
    await Promise.resolve();
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          await this.writeBatch(batch);
        } catch (e) {
          this.fail(e, batch);
          return;
        }
        for (const op of batch) {
          this.queuedBytes -= op.bytes;
          op.resolve();
        }
      }
    } finally {
      // Cleared in the same turn the loop sees an empty queue, so no save can slip in unserved.
      this.draining = false;
    }
  }

  private async writeBatch(batch: readonly PendingOp[]): Promise<void> {
    let chunks: Uint8Array[] = [];
    let pending = 0;
    let marker: { marker: SnapshotMarker; seq: number } | undefined;
    for (const op of batch) {
      const full = op.bytes > 0 && this.active.size + pending >= this.settings.segmentBytes;
      // Keeps the name's first index a true lower bound when Raft rewrites an earlier suffix.
      const below = op.firstEntryIndex !== undefined && op.firstEntryIndex < this.active.state.id.firstIndex;
      if (full || below) {
        // The old segment must be durable before records go to the next one.
        if (pending > 0) await this.appendAndSync(chunks, pending);
        chunks = [];
        pending = 0;
        await this.cut(op.firstEntryIndex ?? Math.max(this.written.lastIndex, this.written.snapshotIndex) + 1);
      }
      for (const frame of op.frames) chunks.push(frame);
      pending += op.bytes;
      if (op.lastEntryIndex !== undefined) {
        this.written.lastIndex = op.lastEntryIndex;
        const state = this.active.state;
        state.maxEntryIndex = Math.max(state.maxEntryIndex, op.lastEntryIndex);
      }
      if (op.hardState !== undefined) this.writtenHardState = op.hardState;
      if (op.snapshot !== undefined) {
        this.written.snapshotIndex = op.snapshot.index;
        marker = { marker: op.snapshot, seq: this.active.state.id.seq };
      }
    }
    if (pending > 0) await this.appendAndSync(chunks, pending, batch.some((op) => op.sync));
    if (marker !== undefined) this.durableSnapshot = marker;
  }

  private async appendAndSync(chunks: readonly Uint8Array[], bytes: number, sync = true): Promise<void> {
    const active = this.active;
    const data = chunks.length === 1 ? chunks[0]! : concat(chunks, bytes);
    active.handle.writeAll(data, active.size);
    active.size += bytes;
    if (sync) await this.settings.sync({ kind: 'segment', name: active.state.id.name, handle: active.handle, bytes: active.size });
  }

  /**
   * Starts the next segment. It begins with the metadata and the latest hard state, so that
   * once older segments are released the remaining ones still hold both.
   */
  private async cut(firstIndex: number): Promise<void> {
    const seq = this.active.state.id.seq + 1;
    const id: SegmentId = { seq, firstIndex, name: segmentName(seq, firstIndex) };
    const head = [this.metadataFrame];
    if (this.writtenHardState !== undefined) {
      head.push(encodeRecord({ type: RecordType.HardState, hardState: this.writtenHardState }));
    }
    const size = head.reduce((n, f) => n + f.length, 0);
    const handle = await createSegmentFile(this.settings.fs, this.dir, id.name, concat(head, size), this.settings.sync);
    const previous = this.active;
    const state: SegmentState = { id, maxEntryIndex: 0 };
    this.segments.push(state);
    this.active = { state, handle, size };
    await previous.handle.close();
  }

  /** Gives up on writing: rejects everything waiting, and every later save, with ErrWalFailed. */
  private fail(cause: unknown, batch: readonly PendingOp[]): void {
    const detail = cause instanceof Error ? cause.message : String(cause);
    this.failure = new WalError('ErrWalFailed', detail, { cause });
    const waiting = [...batch, ...this.queue];
    this.queue = [];
    this.queuedBytes = 0;
    for (const op of waiting) op.reject(this.failure);
  }

  private async release(index: number): Promise<string[]> {
    const snapshot = this.durableSnapshot;
    if (snapshot === undefined) return [];
    const limit = Math.min(index, snapshot.marker.index);
    const doomed: SegmentState[] = [];
    // Only a prefix: replay drops entries on later rewrites, so removing a segment from the
    // middle could resurrect stale entries in the one before it.
    for (const state of this.segments) {
      if (state.id.seq >= snapshot.seq || state.maxEntryIndex > limit) break;
      doomed.push(state);
    }
    const removed: string[] = [];
    try {
      // Oldest first, so a crash part way leaves the survivors numbered without gaps.
      for (const state of doomed) {
        await this.settings.fs.unlink(join(this.dir, state.id.name));
        this.segments.shift();
        removed.push(state.id.name);
      }
    } finally {
      if (removed.length > 0) await syncDirectory(this.settings.fs, this.dir, this.settings.sync);
    }
    return removed;
  }
}

function resolveSettings(options: WalOptions): Settings {
  const segmentBytes = options.segmentBytes ?? 64 * MIB;
  const maxQueuedBytes = options.maxQueuedBytes ?? 64 * MIB;
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes <= 0) {
    throw new WalError('ErrWalInvalidArgument', `segmentBytes ${String(segmentBytes)}`);
  }
  if (!Number.isSafeInteger(maxQueuedBytes) || maxQueuedBytes <= 0) {
    throw new WalError('ErrWalInvalidArgument', `maxQueuedBytes ${String(maxQueuedBytes)}`);
  }
  return { segmentBytes, maxQueuedBytes, sync: options.sync ?? defaultSync, fs: options.fs ?? NODE_FS };
}

function concat(chunks: readonly Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}
