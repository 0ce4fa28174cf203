import type { RateRule } from '../config/index.js';

interface Bucket {
  tokens: number;
  at: number;
  /** When the bucket is full again (a full bucket is the same as none: dropping it resets nothing). */
  full: number;
  readonly person: string;
}

/** Buckets kept at most; see `take` for what makes room. */
const RATE_BUCKETS_MAX = 10_000;

/**
 * Token buckets per key (server, rule, person), in memory (times in seconds): `count` calls per `seconds`, refilled continuously,
 * so a burst of `count` is allowed and then one call every seconds/count. A full map first drops buckets that
 * have refilled (which resets nothing), then the same person's own least recently used one; another person's
 * bucket that is still refilling is never dropped — a newcomer is told to wait instead (`wait`).
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

  /**
   * Seconds until one call is allowed under `rate` for `key` (0: allowed now); takes nothing. A person without a
   * bucket while the map is full of other people's refilling ones waits for the soonest to refill.
   */
  wait(key: string, rate: RateRule, now: number, person: string): number {
    const tokens = this.#level(key, rate, now);
    if (tokens >= 1 && !this.#buckets.has(key) && this.#buckets.size >= this.#max) {
      const soonest = this.#roomAt(person, now);
      if (soonest > now) return soonest - now;
    }
    return tokens >= 1 ? 0 : ((1 - tokens) * rate.seconds) / rate.count;
  }

  /** Takes one call from `key`'s bucket; call after wait() said 0 for every rule that applies. */
  take(key: string, rate: RateRule, now: number, person: string): void {
    const tokens = this.#level(key, rate, now) - 1;
    this.#buckets.delete(key);
    if (this.#buckets.size >= this.#max) this.#makeRoom(person, now);
    const full = now + ((rate.count - tokens) * rate.seconds) / rate.count;
    this.#buckets.set(key, { tokens, at: now, full, person });
  }

  /** When a bucket can be added for `person`: now if one is full or theirs, else when the soonest refills. */
  #roomAt(person: string, now: number): number {
    let soonest = Infinity;
    for (const b of this.#buckets.values()) {
      if (b.full <= now || b.person === person) return now;
      soonest = Math.min(soonest, b.full);
    }
    return soonest;
  }

  #makeRoom(person: string, now: number): void {
    for (const [key, b] of this.#buckets) if (b.full <= now) this.#buckets.delete(key);
    if (this.#buckets.size < this.#max) return;
    // Map order is least recently used first (take re-inserts): the person's own oldest goes. `wait` let no call
    // through that has neither, so the map never grows past its bound.
    for (const [key, b] of this.#buckets) if (b.person === person) return void this.#buckets.delete(key);
  }

  #level(key: string, rate: RateRule, now: number): number {
    const bucket = this.#buckets.get(key);
    if (!bucket) return rate.count;
    return Math.min(rate.count, bucket.tokens + (Math.max(0, now - bucket.at) * rate.count) / rate.seconds);
  }
}
