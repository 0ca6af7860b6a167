/**
 * `kvfleet snapshot restore`: turns a snapshot file (what Maintenance.Snapshot streams, as
 * saved by `etcdctl snapshot save`: image ‖ sha256(image)) into the data dir of a member of a
 * NEW cluster, as etcdctl's restore does for etcd:
 *
 * - the file's trailing SHA-256 is checked (a file without one needs `skipHashCheck`);
 * - the KV data, its revisions and compaction, and the leases are kept;
 * - the membership is rewritten from `--initial-cluster` and the token (new member and
 *   cluster ids), and the old cluster's alarms are dropped (they name old member ids);
 * - the Raft state starts over: the founding snapshot and hard state a new member gets
 *   (raft/bootstrap.ts), with the consistent index reset to that snapshot's index, so the
 *   restored member applies the new cluster's log from its start, as etcd resets it.
 *
 * Everything is built in `<data-dir>.restore-tmp` and renamed into place at the end, so an
 * interrupted restore leaves no half-made data dir.
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import type { WriteTxn } from '../backend/backend.js';
import { type FileSystem, isNotFound, readChunks } from '../env/file-system.js';
import type { MemberEnv } from '../env/member-env.js';
import { REAL_ENV } from '../env/real-env.js';
import { clearBuckets } from '../backend/clear-buckets.js';
import { decodeSnapshot } from '../backend/snapshot-format.js';
import { dataDirLayout } from '../storage/data-dir.js';
import { MemberStorage } from '../storage/member-storage.js';
import { findFounder, parseInitialCluster, type MemberInfo } from '../member/cluster-config.js';
import { MEMBERS_BUCKET, MEMBERS_REMOVED_BUCKET, writeMember } from '../member/member-store.js';
import type { KvWriteTxn } from '../mvcc/kv-write-txn.js';
import { encodeU64, META_BUCKET, META_CONSISTENT_INDEX, META_CONSISTENT_TERM } from '../mvcc/store-meta.js';
import { bootstrapState } from '../raft/bootstrap.js';
import { defaultSync, syncDirectory } from '../wal/sync.js';
import { ALARM_BUCKET } from './alarm-store.js';
import { SHA256_BYTES, unpaddedLength } from './snapshot-stream.js';

export interface RestoreOptions {
  readonly snapshotPath: string;
  readonly name: string;
  readonly dataDir: string;
  readonly initialCluster: string;
  readonly initialClusterToken: string;
  readonly initialAdvertisePeerUrls: readonly string[];
  readonly skipHashCheck: boolean;
  /** The backend the member will run with (`kvfleet server --backend`); default lmdb. */
  readonly backend?: 'lmdb' | 'memory';
  /** Files and the backend (env/); the real ones by default. */
  readonly env?: Pick<MemberEnv, 'fs' | 'openBackend'>;
}

export interface RestoreResult {
  readonly memberId: number;
  readonly clusterId: number;
  readonly members: readonly MemberInfo[];
  /** Pairs loaded from the image. */
  readonly entries: number;
}

export class RestoreError extends Error {
  override readonly name = 'RestoreError';
}

export async function restoreSnapshot(o: RestoreOptions): Promise<RestoreResult> {
  const env = o.env ?? REAL_ENV;
  const { fs } = env;
  if (await exists(fs, o.dataDir)) throw new RestoreError(`data-dir "${o.dataDir}" exists`);
  const cluster = parseInitialCluster(o.initialCluster, o.initialClusterToken);
  const selfId = findFounder(cluster, o.name, o.initialAdvertisePeerUrls, o.initialClusterToken).id;
  const imageBytes = await imageLength(fs, o.snapshotPath, await checkedContentLength(fs, o.snapshotPath, o.skipHashCheck));

  const temp = `${o.dataDir}.restore-tmp`;
  await fs.remove(temp);
  await fs.mkdir(dirname(temp));
  const layout = dataDirLayout(temp);
  await fs.mkdir(layout.root, { mode: 0o700 });
  const kind = o.backend ?? 'lmdb';
  const backend = env.openBackend({ kind, path: layout.dbDir });
  const members = cluster.members;
  const { snapshot, hardState } = bootstrapState(members.map((m) => m.id));
  let entries: number;
  try {
    entries = (await backend.restore(readRange(fs, o.snapshotPath, imageBytes))).entries;
    await clearBuckets(backend, [MEMBERS_BUCKET, MEMBERS_REMOVED_BUCKET, ALARM_BUCKET]);
    await backend.batch((txn) => {
      const aux = auxWriter(txn);
      for (const m of members) writeMember(aux, m);
      txn.put(META_BUCKET, META_CONSISTENT_INDEX, encodeU64(snapshot.metadata.index));
      txn.put(META_BUCKET, META_CONSISTENT_TERM, encodeU64(snapshot.metadata.term));
    });
    const storage = await MemberStorage.create(layout, { memberId: selfId, clusterId: cluster.clusterId }, { snapshot, hardState }, { fs });
    try {
      // A memory backend does not survive a restart: its state travels as the founding snapshot's image.
      if (kind === 'memory') await storage.snapshotter.saveDb(snapshot.metadata.index, snapshot.metadata.term, backend.snapshot());
    } finally {
      await storage.close();
    }
  } catch (e) {
    await backend.close();
    await fs.remove(temp);
    throw e;
  }
  await backend.close();
  await fs.rename(temp, o.dataDir);
  await syncDirectory(fs, dirname(o.dataDir), defaultSync);
  return { memberId: selfId, clusterId: cluster.clusterId, members, entries };
}

/** The image's length within the first `contentBytes` of the file: without the padding, if there is one. */
async function imageLength(fs: FileSystem, path: string, contentBytes: number): Promise<number> {
  const length = Math.min(contentBytes, 1024);
  const tail = Buffer.alloc(length);
  const fh = await fs.open(path, 'r');
  try {
    tail.set(await fh.read(length, contentBytes - length));
  } finally {
    await fh.close();
  }
  return unpaddedLength(contentBytes, tail) ?? contentBytes;
}

/**
 * The length of the file without its trailing SHA-256 when that hash matches. Without a
 * matching hash the file must be a bare image and `skipHashCheck` set, as etcdctl requires
 * for a database file copied from a data dir.
 */
async function checkedContentLength(fs: FileSystem, path: string, skipHashCheck: boolean): Promise<number> {
  const size = (await fs.stat(path)).size;
  if (size > SHA256_BYTES) {
    const imageBytes = size - SHA256_BYTES;
    const sha = createHash('sha256');
    for await (const chunk of readRange(fs, path, imageBytes)) sha.update(chunk);
    const computed = sha.digest();
    const stored = Buffer.alloc(SHA256_BYTES);
    const fh = await fs.open(path, 'r');
    try {
      stored.set(await fh.read(SHA256_BYTES, imageBytes));
    } finally {
      await fh.close();
    }
    if (computed.equals(stored)) return imageBytes;
    if (!skipHashCheck && !(await isBareImage(fs, path))) {
      throw new RestoreError(`expected sha256 ${stored.toString('hex')}, got ${computed.toString('hex')}`);
    }
  }
  if (!skipHashCheck) throw new RestoreError('snapshot missing hash but --skip-hash-check=false');
  return size;
}

async function isBareImage(fs: FileSystem, path: string): Promise<boolean> {
  try {
    const entries = decodeSnapshot(readRange(fs, path, Infinity));
    for (let step = await entries.next(); step.done !== true; step = await entries.next());
    return true;
  } catch {
    return false;
  }
}

/** The first `length` bytes of the file (Infinity: all of it). */
function readRange(fs: FileSystem, path: string, length: number): AsyncIterable<Uint8Array> {
  return readChunks(fs, path, Number.isFinite(length) ? { end: length } : {});
}

/** writeMember records through a KV write's aux writes; here the backend batch is that write. */
function auxWriter(txn: WriteTxn): KvWriteTxn {
  return {
    putAux: (bucket: string, key: Uint8Array, value: Uint8Array) => txn.put(bucket, key, value),
    deleteAux: (bucket: string, key: Uint8Array) => txn.delete(bucket, key),
  } as Partial<KvWriteTxn> as KvWriteTxn;
}

async function exists(fs: FileSystem, path: string): Promise<boolean> {
  try {
    await fs.stat(path);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}
