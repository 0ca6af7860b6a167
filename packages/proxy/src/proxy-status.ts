/**
 * The status page on a proxy's client URLs (`/status`, see core's status/): the proxy's
 * upstream, cache revision and lag, watchers and memory; the members it feeds from, each
 * with its Maintenance.Status; and the last minutes of writes (the cache's revision), reads
 * served and lag.
 */
import { hexId, proto, registerStatusPage, statusFields, type MemberRow, type StatusSample, type StatusSnapshot } from '@kvfleet/core';
import type { FastifyInstance } from 'fastify';
import type { ProxyContext } from './context.js';
import { hostPort } from './upstream/upstream.js';

/** Each member's Status is waited for this long: the page polls every 2 s. */
const MEMBER_STATUS_TIMEOUT_MS = 1000;

export interface ProxyStatusOptions {
  readonly context: ProxyContext;
  /** This proxy's client URLs. */
  readonly advertisedUrls: () => readonly string[];
}

/** Adds the status page to `app`; it samples the proxy until the app closes. */
export function registerProxyStatus(app: FastifyInstance, options: ProxyStatusOptions): void {
  const { context } = options;
  registerStatusPage(app, {
    sample: async (): Promise<StatusSample> => ({ t: Date.now(), writes: context.cache.revision, reads: await readsServed(context), lag: context.feed.lagRevisions }),
    snapshot: (history) => proxySnapshot(options, history),
    every: (fn, ms) => {
      const timer = setInterval(fn, ms);
      timer.unref();
      return () => clearInterval(timer);
    },
  });
}

async function readsServed(context: ProxyContext): Promise<number> {
  let total = 0;
  for (const counter of [context.metrics.rangeFromCache, context.metrics.rangeForwarded]) {
    total += (await counter.get()).values[0]?.value ?? 0;
  }
  return total;
}

/** `history` ends with a sample taken now, so the charts reach the present. */
async function proxySnapshot(options: ProxyStatusOptions, history: StatusSample[]): Promise<StatusSnapshot> {
  const { context } = options;
  const { upstream, cache, feed } = context;
  const memory = process.memoryUsage();
  const header = feed.header;
  let members: MemberRow[] = [];
  let leader = '0';
  let error: string | undefined;
  try {
    const list = await upstream.unary<proto.Decoded<proto.MemberListResponse>>('Cluster', 'MemberList', { linearizable: false }, {
      idempotent: true,
      timeoutMs: MEMBER_STATUS_TIMEOUT_MS,
    });
    members = await Promise.all(
      (list.members ?? []).map(async (m): Promise<MemberRow> => {
        const clientUrls = [...(m.clientURLs ?? [])];
        const row = { id: hexId(m.ID), name: m.name ?? '', peerUrls: [...(m.peerURLs ?? [])], clientUrls, isLearner: m.isLearner === true, self: false };
        const url = clientUrls[0];
        if (url === undefined) return { ...row, error: 'not started (no client URL)' };
        try {
          const res = await upstream.unaryAt<proto.Decoded<proto.StatusResponse>>(hostPort(url), 'Maintenance', 'Status', {}, MEMBER_STATUS_TIMEOUT_MS);
          return { ...row, status: statusFields(res) };
        } catch (e) {
          return { ...row, error: e instanceof Error ? e.message : String(e) };
        }
      }),
    );
    // The leader as the members report it (most answers name the same one).
    leader = members.find((m) => m.status !== undefined && m.status.leader !== '0')?.status?.leader ?? '0';
  } catch (e) {
    error = `no member answered MemberList: ${e instanceof Error ? e.message : String(e)}`;
  }
  const advertised = options.advertisedUrls();
  return {
    role: 'proxy',
    name: advertised[0] ?? 'proxy',
    // A proxy speaks its members' API.
    version: members.find((m) => m.status !== undefined)?.status?.version ?? '',
    clusterId: hexId(header.clusterId ?? 0),
    leader,
    now: Date.now(),
    members,
    proxy: {
      upstream: [...upstream.endpoints],
      currentEndpoint: upstream.endpoint,
      ...(upstream.leader === undefined ? {} : { leaderEndpoint: upstream.leader }),
      ready: context.isReady(),
      revision: cache.revision,
      upstreamRevision: feed.upstreamRevision,
      lagRevisions: feed.lagRevisions,
      lagMs: feed.lagMs(Date.now()),
      watchers: context.hub.watcherCount,
      cacheKeys: cache.stats().keys,
      cacheBytes: cache.stats().bytes,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
    },
    lagUnit: 'revisions',
    history,
    ...(error === undefined ? {} : { error }),
  };
}
