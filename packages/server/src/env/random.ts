/** Randomness as a member draws it: request-id prefixes, lease ids, election timeouts, backoff jitter. */
export interface Random {
  /** A uniformly drawn integer in [min, max). */
  int(min: number, max: number): number;
}
