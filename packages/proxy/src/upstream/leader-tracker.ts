/**
 * Finds which of the proxy's endpoints is the Raft leader, so writes and linearizable checks go
 * straight to it (a follower would forward them, one more hop). Asks a member for Status (the
 * leader's member id) and MemberList (that member's client URLs) every `intervalMs`, and at once
 * after `stale()`. Best effort: while unknown, calls go to the current endpoint as before.
 */
import { proto } from '@kvfleet/core';
import { hostPort, type Upstream } from './upstream.js';

export interface LeaderTrackerOptions {
  /** Default 5 s. */
  readonly intervalMs?: number;
  readonly log?: (message: string) => void;
}

const LOOKUP_TIMEOUT_MS = 2_000;

export class LeaderTracker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly intervalMs: number;

  constructor(
    private readonly upstream: Upstream,
    private readonly options: LeaderTrackerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 5_000;
  }

  start(): void {
    this.schedule(0);
  }

  /** The leader may have changed (a write failed): look again now. */
  stale(): void {
    if (this.closed || this.running !== undefined) return;
    this.schedule(0);
  }

  /** One lookup; resolves when done (for tests and start-up). */
  refresh(): Promise<void> {
    this.running ??= this.lookup().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.refresh().finally(() => {
        if (!this.closed) this.schedule(this.intervalMs);
      });
    }, ms);
    this.timer.unref();
  }

  private async lookup(): Promise<void> {
    const before = this.upstream.leader;
    try {
      const status = await this.upstream.unary<proto.Decoded<proto.StatusResponse>>('Maintenance', 'Status', {}, { idempotent: true, timeoutMs: LOOKUP_TIMEOUT_MS });
      const leaderId = String(status.leader ?? 0);
      if (leaderId === '0') {
        this.upstream.setLeader(undefined);
      } else {
        const list = await this.upstream.unary<proto.Decoded<proto.MemberListResponse>>('Cluster', 'MemberList', {}, { idempotent: true, timeoutMs: LOOKUP_TIMEOUT_MS });
        const leader = list.members.find((m) => String(m.ID ?? 0) === leaderId);
        const urls = (leader?.clientURLs ?? []).map(hostPort);
        this.upstream.setLeader(this.upstream.endpoints.find((e) => urls.includes(e)));
      }
    } catch (e) {
      if (!this.closed) this.options.log?.(`could not find the upstream leader: ${(e as Error).message}`);
      return;
    }
    const after = this.upstream.leader;
    if (after !== before) this.options.log?.(`upstream leader: ${after ?? 'unknown (or not among --endpoints)'}`);
  }
}
