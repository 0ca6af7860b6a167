/**
 * A member's health endpoints, answered as etcd answers them:
 *
 * - `/health` as etcd 3.4 (etcdhttp/metrics.go): `{"health":"true"}` when no alarm is raised
 *   (`?exclude=NOSPACE` ignores one kind), a leader is known, and a linearizable read (etcd's
 *   QGET through Raft) succeeds within a second; otherwise 503 `{"health":"false"}`. etcd 3.4
 *   has no `reason` field (3.5 added one); kvfleet answers 3.4's shape.
 * - `/livez` and `/readyz` as etcd 3.5 (etcdhttp/health.go): named checks, each also at
 *   `/livez/<name>`; `?exclude=<name>` skips one, `?verbose` lists them; `ok` or 503 with the
 *   failed check's reason. livez: the member serves local reads. readyz: no CORRUPT alarm,
 *   local and linearizable reads work (so a leader is known and the member has applied up to
 *   the read point), and the member is not a learner.
 */
import { proto } from '@kvfleet/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { withTimeout } from '../env/clock.js';
import type { AppliedStateReader, EnvHost, MaintenanceHost, MetricsHost, Proposer, RaftStatusGetter } from '../etcdserver/roles.js';

/** What the health checks use of the member. */
export type HealthMember = EnvHost & RaftStatusGetter & Proposer & Pick<AppliedStateReader, 'kv'> & Pick<MaintenanceHost, 'alarms'> & MetricsHost;

/** etcd's /health bounds its QGET by one second. */
export const HEALTH_READ_TIMEOUT_MS = 1000;

const TEXT = 'text/plain; charset=utf-8';

type Check = (member: HealthMember) => Promise<void>;

const ALL_KEYS = Uint8Array.of(0);

const serializableRead: Check = async (member) => {
  member.kv.range(ALL_KEYS, ALL_KEYS, { limit: 1, keysOnly: true });
};

const linearizableRead: Check = async (member) => {
  await withTimeout(member.env.clock, member.linearizableBarrier(), member.requestTimeoutMs, () => new Error('etcdserver: request timed out'));
  member.kv.range(ALL_KEYS, ALL_KEYS, { limit: 1, keysOnly: true });
};

/** etcd 3.5's livez and readyz checks, in the order kvfleet runs and lists them. */
export const LIVEZ_CHECKS: ReadonlyArray<readonly [string, Check]> = [['serializable_read', serializableRead]];
export const READYZ_CHECKS: ReadonlyArray<readonly [string, Check]> = [
  [
    'data_corruption',
    async (m) => {
      if (m.alarms.has(proto.AlarmType.CORRUPT)) throw new Error('alarm activated: CORRUPT');
    },
  ],
  ['serializable_read', serializableRead],
  ['linearizable_read', linearizableRead],
  [
    'non_learner',
    async (m) => {
      if (m.isLearner) throw new Error('not supported for learner');
    },
  ],
];

/** etcd 3.4's /health verdict. */
export async function checkHealth(member: HealthMember, excludedAlarms: ReadonlySet<string>): Promise<boolean> {
  const raised = member.alarms.get().some((a) => !excludedAlarms.has(alarmName(a.alarm)));
  let healthy = !raised && member.leaderId !== 0;
  if (healthy) {
    try {
      await withTimeout(member.env.clock, member.linearizableBarrier(), HEALTH_READ_TIMEOUT_MS, () => new Error('timeout'));
    } catch {
      healthy = false;
    }
  }
  if (healthy) member.metrics.healthSuccess.inc();
  else member.metrics.healthFailures.inc();
  return healthy;
}

/** Registers /health, /livez, /readyz and their per-check sub-paths on `app`. */
export function registerHealthRoutes(app: FastifyInstance, member: HealthMember): void {
  app.all('/health', async (req, reply) => {
    if (!allowGet(req, reply)) return;
    const healthy = await checkHealth(member, queryValues(req, 'exclude'));
    if (healthy) {
      await reply.code(200).header('content-type', TEXT).send('{"health":"true"}');
    } else {
      goError(reply, 503, '{"health":"false"}');
    }
  });
  for (const [path, checks] of [
    ['/livez', LIVEZ_CHECKS],
    ['/readyz', READYZ_CHECKS],
  ] as const) {
    app.all(path, async (req, reply) => {
      const excluded = queryValues(req, 'exclude');
      await answerChecks(req, reply, member, checks.filter(([name]) => !excluded.has(name)));
    });
    for (const check of checks) {
      app.all(`${path}/${check[0]}`, async (req, reply) => answerChecks(req, reply, member, [check]));
    }
  }
}

async function answerChecks(
  req: FastifyRequest,
  reply: FastifyReply,
  member: HealthMember,
  checks: ReadonlyArray<readonly [string, Check]>,
): Promise<void> {
  if (!allowGet(req, reply)) return;
  let failed = false;
  let reason = '';
  for (const [name, check] of checks) {
    try {
      await check(member);
      reason += `[+]${name} ok\n`;
    } catch (e) {
      failed = true;
      reason += `[-]${name} failed: ${e instanceof Error ? e.message : String(e)}\n`;
    }
  }
  if (failed) {
    goError(reply, 503, reason);
    return;
  }
  const verbose = hasQueryKey(req, 'verbose');
  await reply
    .code(200)
    .header('content-type', TEXT)
    .header('x-content-type-options', 'nosniff')
    .send(`${verbose ? reason : ''}ok\n`);
}

/** Go's http.Error: text/plain, nosniff, the message and a newline. */
export function goError(reply: FastifyReply, status: number, message: string): void {
  void reply.code(status).header('content-type', TEXT).header('x-content-type-options', 'nosniff').send(`${message}\n`);
}

/** etcd's handlers answer anything but GET with 405 and `Allow: GET`. */
export function allowGet(req: FastifyRequest, reply: FastifyReply): boolean {
  if (req.method === 'GET') return true;
  reply.header('allow', 'GET');
  goError(reply, 405, 'Method Not Allowed');
  return false;
}

function queryValues(req: FastifyRequest, key: string): Set<string> {
  const q = (req.query ?? {}) as Record<string, string | string[] | undefined>;
  const v = q[key];
  if (v === undefined) return new Set();
  return new Set((Array.isArray(v) ? v : [v]).filter((s) => s !== ''));
}

function hasQueryKey(req: FastifyRequest, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(req.query ?? {}, key);
}

function alarmName(type: number): string {
  return Object.entries(proto.AlarmType).find(([, v]) => v === type)?.[0] ?? String(type);
}

