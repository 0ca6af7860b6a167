/**
 * Reconnect delays: exponential, capped, with "equal jitter" (half fixed, half random) so
 * members that lost the same peer at the same moment do not all redial in step, while a
 * flapping peer still gets at least half the nominal pause.
 */
export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
  /** A uniform number in [0, 1); injected so tests can pin it. */
  readonly random: () => number;
}

export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions) {}

  /** The pause before the next attempt; each call doubles the nominal delay up to the cap. */
  next(): number {
    const { baseMs, maxMs, random } = this.options;
    const nominal = Math.min(maxMs, baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return nominal / 2 + random() * (nominal / 2);
  }

  /** Called once a connection proved healthy. */
  reset(): void {
    this.attempt = 0;
  }
}
