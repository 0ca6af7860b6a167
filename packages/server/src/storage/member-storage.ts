/**
 * A member's Raft persistence: the WAL (entries, hard state, snapshot markers), the snapshot
 * metadata files, and the in-memory copy of the log that the Raft core reads.
 *
 * Ordering rules it keeps (docs/raft.md, the Ready contract):
 * - a snapshot's metadata file is durable before its WAL marker, so every marker on disk names
 *   a file that exists;
 * - entries and hard state are durable (one group-committed WAL save) before `persist`
 *   resolves, and only then enter the in-memory log the core serves to followers.
 */
import { Wal } from '../wal/wal.js';
import type { TailRepair, WalOptions } from '../wal/wal.js';
import { MemoryStorage } from '../raft/memory-storage.js';
import { EMPTY_HARD_STATE, isEmptySnapshot, type ConfState, type Entry, type HardState, type Snapshot } from '../raft/types.js';
import { Snapshotter } from '../snap/snapshotter.js';
import type { DataDirLayout } from './data-dir.js';
import { failpointsOn, hit } from '@kvfleet/core';

/** Who the log belongs to; written into every WAL segment and checked on restart. */
export interface MemberIdentity {
  readonly memberId: number;
  readonly clusterId: number;
}

export interface OpenedStorage {
  readonly storage: MemberStorage;
  readonly identity: MemberIdentity;
  /** The newest snapshot, if the log has one. */
  readonly snapshot: Snapshot | undefined;
  readonly hardState: HardState;
  readonly repaired: TailRepair | undefined;
}

export class MemberStorage {
  readonly raftStorage = new MemoryStorage();

  private constructor(
    private readonly wal: Wal,
    readonly snapshotter: Snapshotter,
  ) {}

  /** Creates the storage of a brand-new member, optionally starting from `snapshot` (founders' bootstrap). */
  static async create(
    layout: DataDirLayout,
    identity: MemberIdentity,
    initial: { snapshot?: Snapshot; hardState?: HardState },
    walOptions: WalOptions = {},
  ): Promise<MemberStorage> {
    const snapshotter = await Snapshotter.open(layout.snapDir, walOptions.fs);
    if (initial.snapshot !== undefined) await snapshotter.save(initial.snapshot);
    const wal = await Wal.create(layout.walDir, { ...walOptions, metadata: encodeIdentity(identity) });
    const storage = new MemberStorage(wal, snapshotter);
    if (initial.snapshot !== undefined) {
      await wal.saveSnapshotMarker({ index: initial.snapshot.metadata.index, term: initial.snapshot.metadata.term });
      storage.raftStorage.applySnapshot(initial.snapshot);
    }
    if (initial.hardState !== undefined) {
      await wal.save({ entries: [], hardState: initial.hardState });
      storage.raftStorage.setHardState(initial.hardState);
    }
    return storage;
  }

  /** Opens an existing member's storage and rebuilds the in-memory log from the WAL. */
  static async open(layout: DataDirLayout, walOptions: WalOptions = {}): Promise<OpenedStorage> {
    const snapshotter = await Snapshotter.open(layout.snapDir, walOptions.fs);
    const opened = await Wal.open(layout.walDir, walOptions);
    const storage = new MemberStorage(opened.wal, snapshotter);
    let snapshot: Snapshot | undefined;
    if (opened.snapshot !== undefined) {
      snapshot = await snapshotter.load(opened.snapshot.index, opened.snapshot.term);
      storage.raftStorage.applySnapshot(snapshot);
    }
    storage.raftStorage.append(opened.entries);
    const hardState = opened.hardState;
    if (hardState !== EMPTY_HARD_STATE) storage.raftStorage.setHardState(hardState);
    return { storage, identity: decodeIdentity(opened.metadata), snapshot, hardState, repaired: opened.repaired };
  }

  /**
   * Step 1 of a Ready: a received snapshot (metadata durable, then its WAL marker), then the
   * entries and hard state in one save, fsynced unless `mustSync` is false (only the commit
   * index moved, as in etcd); then the in-memory log.
   */
  async persist(snapshot: Snapshot | undefined, entries: readonly Entry[], hardState: HardState | undefined, mustSync = true, testingBugNoSync = false): Promise<void> {
    if (snapshot !== undefined && !isEmptySnapshot(snapshot)) {
      await this.snapshotter.save(snapshot);
      await this.wal.saveSnapshotMarker({ index: snapshot.metadata.index, term: snapshot.metadata.term });
      this.raftStorage.applySnapshot(snapshot);
    }
    if (entries.length > 0 || hardState !== undefined) {
      if (failpointsOn) await hit('walBeforeSave');
      const sync = (mustSync || entries.length > 0) && !testingBugNoSync;
      await this.wal.save(hardState === undefined ? { entries, sync } : { entries, hardState, sync });
      if (failpointsOn) await hit('walAfterSave');
    }
    if (entries.length > 0) this.raftStorage.append(entries);
    if (hardState !== undefined) this.raftStorage.setHardState(hardState);
  }

  /**
   * Records a snapshot of the applied state at `index`, then drops log entries no longer
   * needed: the in-memory log keeps `catchUpEntries` behind it, the WAL releases segments
   * wholly before what memory keeps. Undefined, as in etcd, when the log already holds a newer
   * snapshot: a leader's, persisted while this member was still applying older entries (it is
   * applied next, and the member's state then covers it).
   */
  async snapshotAt(index: number, confState: ConfState, catchUpEntries: number): Promise<Snapshot | undefined> {
    if (this.raftStorage.snapshot().metadata.index >= index) return undefined;
    const snap = this.raftStorage.createSnapshot(index, confState, new Uint8Array(0));
    await this.snapshotter.save(snap);
    await this.wal.saveSnapshotMarker({ index, term: snap.metadata.term });
    const compactTo = index - catchUpEntries;
    if (compactTo > this.raftStorage.firstIndex()) {
      this.raftStorage.compact(compactTo);
    }
    await this.wal.releaseTo(Math.min(index, this.raftStorage.firstIndex()));
    return snap;
  }

  close(): Promise<void> {
    return this.wal.close();
  }
}

function encodeIdentity(identity: MemberIdentity): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ memberId: identity.memberId, clusterId: identity.clusterId }));
}

function decodeIdentity(bytes: Uint8Array): MemberIdentity {
  const parsed = JSON.parse(new TextDecoder().decode(bytes)) as Partial<MemberIdentity>;
  if (typeof parsed.memberId !== 'number' || typeof parsed.clusterId !== 'number') {
    throw new Error('WAL metadata does not name a member and cluster');
  }
  return { memberId: parsed.memberId, clusterId: parsed.clusterId };
}
