/**
 * The founding configuration of a cluster, parsed from etcd's `--initial-cluster`
 * (`name=url[,name=url...]`, a name may repeat to give a member several peer URLs).
 */
import { clusterIdFor, memberIdFor } from './member-id.js';

export interface MemberInfo {
  readonly id: number;
  readonly name: string;
  readonly peerUrls: readonly string[];
  /** Advertised client URLs; known for this member from its flags, for others once published. */
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

export interface ClusterConfig {
  readonly clusterId: number;
  readonly members: readonly MemberInfo[];
}

export class ClusterConfigError extends Error {
  override readonly name = 'ClusterConfigError';
}

/** Parses `--initial-cluster`; rejects malformed entries, duplicate URLs and an empty list. */
export function parseInitialCluster(spec: string, token: string): ClusterConfig {
  const urlsByName = new Map<string, string[]>();
  const seenUrls = new Set<string>();
  for (const part of spec.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) {
      throw new ClusterConfigError(`--initial-cluster: "${item}" is not name=url`);
    }
    const name = item.slice(0, eq);
    const url = normalizeUrl(item.slice(eq + 1), '--initial-cluster');
    if (seenUrls.has(url)) throw new ClusterConfigError(`--initial-cluster: URL ${url} appears twice`);
    seenUrls.add(url);
    const urls = urlsByName.get(name) ?? [];
    urls.push(url);
    urlsByName.set(name, urls);
  }
  if (urlsByName.size === 0) throw new ClusterConfigError('--initial-cluster is empty');
  const members = [...urlsByName].map(([name, peerUrls]) => ({
    id: memberIdFor(peerUrls, token),
    name,
    peerUrls,
    clientUrls: [] as string[],
    isLearner: false,
  }));
  if (new Set(members.map((m) => m.id)).size !== members.length) {
    throw new ClusterConfigError('--initial-cluster: two members hash to the same id');
  }
  members.sort((a, b) => a.id - b.id);
  return { clusterId: clusterIdFor(members.map((m) => m.id)), members };
}

/**
 * This member's entry in a founding configuration: the one whose id its advertised peer URLs
 * give (as `memberIdFor`) and whose name matches. Throws if there is none.
 */
export function findFounder(cluster: ClusterConfig, name: string, peerUrls: readonly string[], token: string): MemberInfo {
  const id = memberIdFor(peerUrls, token);
  const self = cluster.members.find((m) => m.id === id);
  if (self === undefined || self.name !== name) {
    throw new ClusterConfigError(
      `--initial-cluster has no member named "${name}" with peer URLs ${peerUrls.join(',')} (they must match --initial-advertise-peer-urls)`,
    );
  }
  return self;
}

/** Parses a comma-separated URL list flag; each must be http(s)://host:port. */
export function parseUrlList(spec: string, flag: string): string[] {
  const urls = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => normalizeUrl(s, flag));
  if (urls.length === 0) throw new ClusterConfigError(`${flag} is empty`);
  return urls;
}

function normalizeUrl(raw: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ClusterConfigError(`${flag}: "${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ClusterConfigError(`${flag}: "${raw}" must use http or https`);
  }
  // URL drops a scheme's default port (":80" for http), so look at what was written.
  const port = url.port !== '' ? url.port : /^[a-z]+:\/\/[^/]*:(\d+)\/?$/i.exec(raw)?.[1];
  if (port === undefined) throw new ClusterConfigError(`${flag}: "${raw}" needs an explicit port`);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new ClusterConfigError(`${flag}: "${raw}" must not have a path`);
  }
  return `${url.protocol}//${url.hostname}:${port}`;
}
