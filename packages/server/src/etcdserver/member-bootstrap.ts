/**
 * Bringing a member's state up from its data dir: a new founding member writes the bootstrap
 * snapshot and the member list; a restarting one reopens its WAL and backend and, if the
 * backend is behind the newest snapshot (a received snapshot whose image was stored but not
 * yet loaded, or a backend that does not survive restarts), loads the snapshot's image.
 */
import type { MemberEnv } from '../env/member-env.js';
import type { Backend } from '../backend/backend.js';
import { replaceContents } from '../backend/replace-contents.js';
import { KvStore } from '../mvcc/kv-store.js';
import { bootstrapState } from '../raft/bootstrap.js';
import type { HardState, Snapshot } from '../raft/types.js';
import { findFounder, parseInitialCluster, type MemberInfo } from '../member/cluster-config.js';
import { readMembers, writeMember } from '../member/member-store.js';
import { dataDirLayout, hasExistingMember, type DataDirLayout } from '../storage/data-dir.js';
import { MemberStorage, type MemberIdentity } from '../storage/member-storage.js';
import { defaultSync, makeDurableDirectory, type SyncHook } from '../wal/sync.js';
import type { WalOptions } from '../wal/wal.js';
import { fetchRemoteCluster, findSelf } from './remote-cluster.js';
import type { MemberConfig } from './member-config.js';

export interface BootstrappedMember {
  readonly layout: DataDirLayout;
  readonly identity: MemberIdentity;
  readonly storage: MemberStorage;
  readonly backend: Backend;
  readonly kv: KvStore;
  /** The members known from the backend (or, for a joining member, from the flags). */
  readonly members: MemberInfo[];
  /** The newest snapshot in the log, if any. */
  readonly snapshot: Snapshot | undefined;
  readonly hardState: HardState | undefined;
  readonly restarted: boolean;
}

export class BootstrapError extends Error {
  override readonly name = 'BootstrapError';
}

/** Whether the backend survives a restart on its own; if not, snapshots carry an image of it. */
export function isDurableBackend(config: MemberConfig): boolean {
  return config.backend !== 'memory';
}

/**
 * Opens or creates the member's state in `env` (its file system; its dialer and clock when it
 * joins a running cluster). `sync` makes the WAL's writes durable (the member times it).
 */
export async function bootstrapMember(config: MemberConfig, env: MemberEnv, sync?: SyncHook): Promise<BootstrappedMember> {
  const { fs } = env;
  const walOptions: WalOptions = { fs, ...(sync === undefined ? {} : { sync }) };
  const layout = dataDirLayout(config.dataDir);
  // Durable, as the WAL's and the snapshots' directories are: a data dir whose own entry a power
  // loss drops takes its whole log with it, and the member would bootstrap again as new.
  await makeDurableDirectory(fs, layout.root, sync ?? defaultSync, 0o700);
  const restarted = await hasExistingMember(fs, layout);
  return restarted ? reopen(config, env, layout, walOptions) : create(config, env, layout, walOptions);
}

async function create(config: MemberConfig, env: MemberEnv, layout: DataDirLayout, walOptions: WalOptions): Promise<BootstrappedMember> {
  const cluster = parseInitialCluster(config.initialCluster, config.initialClusterToken);
  const selfId = findFounder(cluster, config.name, config.initialAdvertisePeerUrls, config.initialClusterToken).id;
  const members = cluster.members.map((m) => (m.id === selfId ? { ...m, clientUrls: [...config.advertiseClientUrls] } : m));
  const identity = { memberId: selfId, clusterId: cluster.clusterId };
  const backend = await openLocalBackend(config, env, layout);
  const kv = await KvStore.open(backend);

  if (config.initialClusterState === 'existing') {
    // Joining: the running members say who we are (MemberAdd chose the id) and which cluster
    // this is; the leader's first message is then a snapshot with the data and the member list.
    const joined = await joinExisting(config, env, cluster.members.length);
    // The member list in the backend, before the WAL exists: a joiner that restarts before the
    // leader's snapshot reaches it must still know its peers, or it could never answer them
    // (found by the whole-member simulator). The snapshot replaces it.
    await kv.write({ consistentIndex: 0, consistentTerm: 0 }, (txn) => {
      for (const m of joined.members) writeMember(txn, m);
    });
    const storage = await MemberStorage.create(layout, joined.identity, {}, walOptions);
    return { layout, identity: joined.identity, storage, backend, kv, members: joined.members, snapshot: undefined, hardState: undefined, restarted: false };
  }
  const { snapshot, hardState } = bootstrapState(members.map((m) => m.id));
  // The backend first: if we crash before the WAL exists, the next start is a fresh bootstrap again.
  await kv.write({ consistentIndex: snapshot.metadata.index, consistentTerm: snapshot.metadata.term }, (txn) => {
    for (const m of members) writeMember(txn, m);
  });
  const storage = await MemberStorage.create(layout, identity, { snapshot, hardState }, walOptions);
  if (!isDurableBackend(config)) {
    await storage.snapshotter.saveDb(snapshot.metadata.index, snapshot.metadata.term, backend.snapshot());
  }
  return { layout, identity, storage, backend, kv, members, snapshot, hardState, restarted: false };
}

async function joinExisting(config: MemberConfig, env: MemberEnv, localCount: number): Promise<{ identity: MemberIdentity; members: MemberInfo[] }> {
  const own = new Set(config.initialAdvertisePeerUrls);
  const others = parseInitialCluster(config.initialCluster, config.initialClusterToken)
    .members.flatMap((m) => m.peerUrls)
    .filter((u) => !own.has(u));
  if (others.length === 0) throw new BootstrapError('--initial-cluster-state existing needs the running members in --initial-cluster');
  let remote;
  try {
    remote = await fetchRemoteCluster(env, others, config.initialAdvertisePeerUrls, Math.max(1000, 2 * config.electionTimeoutMs));
  } catch (e) {
    throw new BootstrapError(`cannot fetch cluster info from peer urls: ${e instanceof Error ? e.message : String(e)}`);
  }
  // etcd checks that --initial-cluster names the same members the cluster has, this one included.
  if (remote.members.length !== localCount) {
    throw new BootstrapError(`error validating peerURLs: member count is unequal (the cluster has ${remote.members.length} members, --initial-cluster names ${localCount})`);
  }
  const self = findSelf(remote.members, config.initialAdvertisePeerUrls);
  if (self === undefined) {
    throw new BootstrapError(
      `error validating peerURLs: no member with peer URLs ${config.initialAdvertisePeerUrls.join(',')} in the cluster (add it with MemberAdd first)`,
    );
  }
  const members = remote.members.map((m) => (m.id === self.id ? { ...m, name: config.name, clientUrls: [...config.advertiseClientUrls] } : m));
  return { identity: { memberId: self.id, clusterId: remote.clusterId }, members };
}

async function reopen(config: MemberConfig, env: MemberEnv, layout: DataDirLayout, walOptions: WalOptions): Promise<BootstrappedMember> {
  const opened = await MemberStorage.open(layout, walOptions);
  if (opened.repaired !== undefined) {
    config.logger.warn('repaired a torn WAL tail', { ...opened.repaired });
  }
  const backend = await openLocalBackend(config, env, layout);
  let kv = await KvStore.open(backend);
  const snap = opened.snapshot;
  if (snap !== undefined && kv.consistentIndex.consistentIndex < snap.metadata.index) {
    const { index, term } = snap.metadata;
    if (!(await opened.storage.snapshotter.hasDb(index, term))) {
      throw new BootstrapError(
        `backend is at index ${String(kv.consistentIndex.consistentIndex)}, behind snapshot ${String(index)}, and the snapshot's image is missing`,
      );
    }
    config.logger.info('loading the backend from the snapshot image', { index, term });
    await replaceContents(backend, opened.storage.snapshotter.readDb(index, term));
    kv = await KvStore.open(backend);
  }
  const view = backend.readTxn();
  let members: MemberInfo[];
  try {
    members = readMembers(view);
  } finally {
    view.release();
  }
  return {
    layout,
    identity: opened.identity,
    storage: opened.storage,
    backend,
    kv,
    members,
    snapshot: snap,
    hardState: opened.hardState,
    restarted: true,
  };
}

async function openLocalBackend(config: MemberConfig, env: MemberEnv, layout: DataDirLayout): Promise<Backend> {
  // LMDB keeps its own files (not through env's fs): it is the real environment's backend.
  return env.openBackend({ kind: config.backend, path: layout.dbDir });
}
