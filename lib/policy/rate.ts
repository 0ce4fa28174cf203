import type { RateRule } from '../config/index.js';

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets kept at most; when full, the least recently used one is dropped (its owner starts afresh). */
export const RATE_BUCKETS_MAX = 10_000;

/**
 * Token buckets per key (server, rule, person, tool), in memory: `count` calls per `seconds`, refilled
 * continuously, so a burst of `count` is allowed and then one call every seconds/count.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #max: number;

  constructor(max = RATE_BUCKETS_MAX) {
    this.#max = max;
  }

  get size(): number {
    return this.#buckets.size;
  }

  /** Seconds until one call is allowed under `rate` for `key` (0: allowed now); takes nothing. */
  wait(key: string, rate: RateRule, now: number): number {
    const tokens = this.#level(key, rate, now);
    return tokens >= 1 ? 0 : ((1 - tokens) * rate.seconds) / rate.count;
  }

  /** Takes one call from `key`'s bucket; call after wait() said 0 for every rule that applies. */
  take(key: string, rate: RateRule, now: number): void {
    const tokens = this.#level(key, rate, now);
    this.#buckets.delete(key);
    if (this.#buckets.size >= this.#max) this.#buckets.delete(this.#buckets.keys().next().value!);
    this.#buckets.set(key, { tokens: tokens - 1, at: now });
  }

  #level(key: string, rate: RateRule, now: number): number {
    const bucket = this.#buckets.get(key);
    if (!bucket) return rate.count;
    return Math.min(rate.count, bucket.tokens + (Math.max(0, now - bucket.at) * rate.count) / rate.seconds);
  }
}
