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
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { WriteTxn } from '../backend/backend.js';
import { clearBuckets } from '../backend/clear-buckets.js';
import { openBackend } from '../backend/open-backend.js';
import { decodeSnapshot } from '../backend/snapshot-format.js';
import { dataDirLayout } from '../storage/data-dir.js';
import { MemberStorage } from '../storage/member-storage.js';
import { findFounder, parseInitialCluster, type MemberInfo } from '../member/cluster-config.js';
import { MEMBERS_BUCKET, writeMember } from '../member/member-store.js';
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
  if (await exists(o.dataDir)) throw new RestoreError(`data-dir "${o.dataDir}" exists`);
  const cluster = parseInitialCluster(o.initialCluster, o.initialClusterToken);
  const selfId = findFounder(cluster, o.name, o.initialAdvertisePeerUrls, o.initialClusterToken).id;
  const imageBytes = await imageLength(o.snapshotPath, await checkedContentLength(o.snapshotPath, o.skipHashCheck));

  const temp = `${o.dataDir}.restore-tmp`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(dirname(temp), { recursive: true });
  const layout = dataDirLayout(temp);
  await mkdir(layout.root, { recursive: true, mode: 0o700 });
  const kind = o.backend ?? 'lmdb';
  if (kind === 'lmdb') await mkdir(layout.dbDir, { recursive: true });
  const backend = openBackend({ kind, path: layout.dbDir });
  const members = cluster.members;
  const { snapshot, hardState } = bootstrapState(members.map((m) => m.id));
  let entries: number;
  try {
    entries = (await backend.restore(readRange(o.snapshotPath, imageBytes))).entries;
    await clearBuckets(backend, [MEMBERS_BUCKET, ALARM_BUCKET]);
    await backend.batch((txn) => {
      const aux = auxWriter(txn);
      for (const m of members) writeMember(aux, m);
      txn.put(META_BUCKET, META_CONSISTENT_INDEX, encodeU64(snapshot.metadata.index));
      txn.put(META_BUCKET, META_CONSISTENT_TERM, encodeU64(snapshot.metadata.term));
    });
    const storage = await MemberStorage.create(layout, { memberId: selfId, clusterId: cluster.clusterId }, { snapshot, hardState });
    try {
      // A memory backend does not survive a restart: its state travels as the founding snapshot's image.
      if (kind === 'memory') await storage.snapshotter.saveDb(snapshot.metadata.index, snapshot.metadata.term, backend.snapshot());
    } finally {
      await storage.close();
    }
  } catch (e) {
    await backend.close();
    await rm(temp, { recursive: true, force: true });
    throw e;
  }
  await backend.close();
  await rename(temp, o.dataDir);
  await syncDirectory(dirname(o.dataDir), defaultSync);
  return { memberId: selfId, clusterId: cluster.clusterId, members, entries };
}

/** The image's length within the first `contentBytes` of the file: without the padding, if there is one. */
async function imageLength(path: string, contentBytes: number): Promise<number> {
  const tail = Buffer.alloc(Math.min(contentBytes, 1024));
  const fh = await open(path, 'r');
  try {
    await fh.read(tail, 0, tail.length, contentBytes - tail.length);
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
async function checkedContentLength(path: string, skipHashCheck: boolean): Promise<number> {
  const size = (await stat(path)).size;
  if (size > SHA256_BYTES) {
    const imageBytes = size - SHA256_BYTES;
    const sha = createHash('sha256');
    for await (const chunk of readRange(path, imageBytes)) sha.update(chunk);
    const computed = sha.digest();
    const stored = Buffer.alloc(SHA256_BYTES);
    const fh = await open(path, 'r');
    try {
      await fh.read(stored, 0, SHA256_BYTES, imageBytes);
    } finally {
      await fh.close();
    }
    if (computed.equals(stored)) return imageBytes;
    if (!skipHashCheck && !(await isBareImage(path))) {
      throw new RestoreError(`expected sha256 ${stored.toString('hex')}, got ${computed.toString('hex')}`);
    }
  }
  if (!skipHashCheck) throw new RestoreError('snapshot missing hash but --skip-hash-check=false');
  return size;
}

async function isBareImage(path: string): Promise<boolean> {
  try {
    const entries = decodeSnapshot(readRange(path, Infinity));
    for (let step = await entries.next(); step.done !== true; step = await entries.next());
    return true;
  } catch {
    return false;
  }
}

function readRange(path: string, length: number): AsyncIterable<Uint8Array> {
  if (length === 0) return (async function* () {})();
  const options = Number.isFinite(length) ? { start: 0, end: length - 1 } : {};
  return createReadStream(path, options) as AsyncIterable<Uint8Array>;
}

/** writeMember records through a KV write's aux writes; here the backend batch is that write. */
function auxWriter(txn: WriteTxn): KvWriteTxn {
  return {
    putAux: (bucket: string, key: Uint8Array, value: Uint8Array) => txn.put(bucket, key, value),
    deleteAux: (bucket: string, key: Uint8Array) => txn.delete(bucket, key),
  } as Partial<KvWriteTxn> as KvWriteTxn;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
