/**
 * etcd's Maintenance service: status, hashes, alarms (through Raft), defragmentation, the
 * backend snapshot stream and leader transfer. Downgrade is not served (UNIMPLEMENTED).
 */
import type * as grpc from '@grpc/grpc-js';
import { proto } from '@kvfleet/core';
import { normalizeAlarm } from '../apply/normalize.js';
import type { AppliedStateReader, EnvHost, HeaderSource, MaintenanceHost, MemberSettings, MembershipHost, Proposer, RaftStatusGetter } from '../etcdserver/roles.js';
import { moveLeader } from '../maintenance/move-leader.js';
import { snapshotMessages } from '../maintenance/snapshot-stream.js';
import { toServiceError, unary } from './grpc-errors.js';
import { statusResponse } from '../etcdserver/status-response.js';

/** What the Maintenance service uses of the member. */
export type MaintenanceMember = EnvHost &
  HeaderSource &
  RaftStatusGetter &
  Proposer &
  MaintenanceHost &
  MemberSettings &
  Pick<AppliedStateReader, 'kv'> &
  Pick<MembershipHost, 'memberList'>;

type SnapshotCall = grpc.ServerWritableStream<proto.SnapshotRequest, proto.SnapshotResponse>;

export function maintenanceService(server: MaintenanceMember): Partial<proto.ServiceHandlers<'Maintenance'>> {
  return {
    Status: unary(async () => statusResponse(server)),

    HashKV: unary(async (wire) => {
      const h = server.kv.hashKV(proto.int64ToNumber(wire.revision, 'revision'));
      return { header: server.header(h.revision), hash: h.hash, compactRevision: h.compactRevision };
    }),

    Hash: unary(async () => {
      const revision = server.kv.currentRevision;
      const hash = await server.maintenanceBackend().hash();
      return { header: server.header(revision), hash };
    }),

    // As etcd, every action (GET included) goes through Raft, so the answer is linearizable.
    Alarm: unary(async (wire) => {
      const out = await server.propose({ alarm: normalizeAlarm(wire) });
      const { alarms } = out.body;
      return { header: server.header(out.revision), alarms: alarms.map((a) => ({ memberID: a.memberID, alarm: a.alarm as proto.AlarmType })) };
    }),

    Defragment: unary(async () => {
      server.config.logger.info('starting defragment');
      await server.maintenanceBackend().defragment();
      server.config.logger.info('finished defragment', { dbSize: server.backendSizes.size });
      // etcd 3.4 answers with an empty response (no header).
      return {};
    }),

    Snapshot: (call: SnapshotCall) => {
      void streamSnapshot(server, call);
    },

    MoveLeader: unary(async (wire, call) => {
      const target = proto.int64ToNumber(wire.targetID, 'targetID');
      const clientDeadline = deadlineMs(call.getDeadline());
      await moveLeader(server, target, Math.min(clientDeadline, server.env.clock.now() + server.requestTimeoutMs));
      return { header: server.header() };
    }),
  };
}

function deadlineMs(deadline: grpc.Deadline): number {
  if (deadline instanceof Date) return deadline.getTime();
  return Number.isFinite(deadline) ? deadline : Infinity;
}

/** Sends the snapshot with backpressure; stops reading the backend when the client goes away. */
async function streamSnapshot(server: MaintenanceMember, call: SnapshotCall): Promise<void> {
  let gone = false;
  const onGone = (): void => {
    gone = true;
  };
  call.on('cancelled', onGone);
  call.on('error', onGone);
  const messages = snapshotMessages(server.maintenanceBackend());
  try {
    for await (const m of messages) {
      if (gone) break;
      if (!call.write({ header: server.header(), remainingBytes: m.remainingBytes, blob: m.blob })) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            call.off('drain', done);
            call.off('cancelled', done);
            resolve();
          };
          call.on('drain', done);
          call.on('cancelled', done);
        });
      }
    }
    if (!gone) call.end();
  } catch (e) {
    server.config.logger.warn('snapshot stream failed', { error: String(e) });
    if (!gone) call.emit('error', Object.assign(new Error(e instanceof Error ? e.message : String(e)), toServiceError(e)));
  } finally {
    await messages.return(undefined);
  }
}
