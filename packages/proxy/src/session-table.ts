/**
 * The revision floor of each client connection, keyed by its peer address. Bounded: the least
 * recently used session is forgotten past `maxSessions` (a forgotten session's next read
 * starts from floor 0, so it may see an older revision only if it was idle the longest).
 */
import { SessionRevisionFloor } from './session.js';

export class SessionTable {
  private readonly sessions = new Map<string, SessionRevisionFloor>();

  constructor(private readonly maxSessions = 65_536) {}

  get(peer: string): SessionRevisionFloor {
    let s = this.sessions.get(peer);
    if (s !== undefined) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.sessions.delete(peer);
    } else {
      s = new SessionRevisionFloor();
      if (this.sessions.size >= this.maxSessions) {
        const oldest = this.sessions.keys().next().value;
        if (oldest !== undefined) this.sessions.delete(oldest);
      }
    }
    this.sessions.set(peer, s);
    return s;
  }

  get size(): number {
    return this.sessions.size;
  }
}
