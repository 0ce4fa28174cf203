import type { AccessTokenClaims } from './claims.js';
import { checkBinding, verifySignedClaims, type VerifyOptions } from './verify.js';

interface Verdict {
  readonly claims: AccessTokenClaims;
  readonly keysVersion: number | undefined;
}

/**
 * Remembers tokens whose signature and claims checked out, until they expire, so a request costs
 * a hash lookup plus the per-request checks (expiry, audience, certificate binding). A verdict made
 * under an older load of the trusted keys is made again, so a key dropped from the set stops working.
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, Verdict>();
  readonly #max: number;

  constructor(maxEntries = 10_000) {
    this.#max = maxEntries;
  }

  async verify(token: string, options: VerifyOptions): Promise<AccessTokenClaims> {
    const claims = await this.verifySigned(token, options);
    checkBinding(claims, options.audience, options.certThumbprint, options.now ?? Date.now(), options.dpopJkt);
    return claims;
  }

  /**
   * The cached half alone (signature and claims), for a caller that checks the binding itself
   * afterwards with checkBinding — e.g. only once the token is known good, a DPoP proof.
   */
  async verifySigned(token: string, options: Omit<VerifyOptions, 'audience'>): Promise<AccessTokenClaims> {
    const now = options.now ?? Date.now();
    let verdict = this.#entries.get(token);
    if (verdict === undefined || verdict.keysVersion !== options.keys.version) {
      this.#entries.delete(token);
      const claims = await verifySignedClaims(token, options);
      verdict = { claims, keysVersion: options.keys.version };
      if (this.#entries.size >= this.#max) this.#evict(now);
      this.#entries.set(token, verdict);
    }
    return verdict.claims;
  }

  /**
   * The claims of a token already verified under the current load of `keys`, or undefined: the synchronous half of
   * verifySigned, so that a request with a known token needs no promise.
   */
  cached(token: string, keys: VerifyOptions['keys']): AccessTokenClaims | undefined {
    const verdict = this.#entries.get(token);
    return verdict !== undefined && verdict.keysVersion === keys.version ? verdict.claims : undefined;
  }

  /** Forget everything, e.g. after the trusted keys changed. */
  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  #evict(now: number): void {
    for (const [token, { claims }] of this.#entries) if (claims.exp * 1000 <= now) this.#entries.delete(token);
    // Still full of live tokens: drop the oldest half (insertion order) rather than grow without bound.
    if (this.#entries.size >= this.#max) {
      let drop = Math.ceil(this.#max / 2);
      for (const token of this.#entries.keys()) {
        if (drop-- <= 0) break;
        this.#entries.delete(token);
      }
    }
  }
}
