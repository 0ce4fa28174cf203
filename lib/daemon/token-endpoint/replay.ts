import { invalidSubject } from './idp-metadata.js';

/**
 * Remembers each workload token's `jti` until the token expires, so that a token copied from a CI
 * log or a compromised step cannot be exchanged a second time (RFC 7519 §4.1.7). Held in memory:
 * a daemon restart forgets, which the tokens' short lifetimes bound. When `max` live entries are
 * held it refuses new tokens rather than forget live ones (fail closed).
 */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: { max?: number; now?: () => number } = {}) {
    this.#max = options.max ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Records a use of `key` (valid until `exp`, epoch seconds); throws TOKEN_INVALID on a replay. */
  use(key: string, exp: number): void {
    if (key.length > 1024) throw invalidSubject("the token's jti is too long");
    const now = this.#now() / 1000;
    const until = this.#seen.get(key);
    if (until !== undefined && until > now) {
      throw invalidSubject('this workload token was already exchanged (jti replay)');
    }
    if (this.#seen.size >= this.#max) this.#prune(now);
    if (this.#seen.size >= this.#max) {
      throw invalidSubject('too many workload tokens are live; try again once some expire');
    }
    // Kept a minute past exp: the verifier tolerates that much clock skew.
    this.#seen.set(key, exp + 60);
  }

  #prune(now: number): void {
    for (const [key, until] of this.#seen) if (until <= now) this.#seen.delete(key);
  }
}
