import { createHash } from 'node:crypto';
import { GatekitError } from '../errors.js';
import { verifyProofJws } from './dpop-jws.js';

/** Asymmetric algorithms only (RFC 9449 §4.3 step 5: never "none", never a MAC). */
export const DPOP_ALGORITHMS: readonly string[] = ['ES256', 'EdDSA', 'PS256'];
/** A proof's `iat` may be this many seconds before or after the verifier's clock. */
const DPOP_MAX_AGE = 60;
const MAX_PROOF_LENGTH = 8192;
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface ProofCheck {
  /** The request's method (`htm`). */
  readonly method: string;
  /** The request's URI as the verifier computes it (`htu`); query and fragment are ignored. */
  readonly url: string;
  /**
   * `accessTokenHash` of the access token presented with the proof: the proof's `ath` must be it. A hash, so that a
   * caller can keep it per token: a client sends one token with many proofs.
   */
  readonly accessTokenHash?: string | undefined;
  readonly replays: DpopReplayCache;
  /** The token's `cnf.jkt`, when known: a proof by another key is TOKEN_INVALID before its `jti` is recorded. */
  readonly boundTo?: string | undefined;
  /** Milliseconds since the epoch; defaults to the clock. */
  readonly now?: number;
}

export interface VerifiedProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's public key: what `cnf.jkt` must equal. */
  readonly jkt: string;
  readonly jti: string;
}

function invalidProof(description: string): GatekitError {
  return new GatekitError('DPOP_INVALID', description);
}

/** RFC 9449 §4.1 `ath`: base64url SHA-256 of the ASCII access token. */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

/** RFC 9449 §4.3 step 9: htu compares without query and fragment, after URL normalisation. */
export function normalizeHtu(url: string): string | undefined {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return undefined;
  }
}

/**
 * Checks one DPoP proof JWT as RFC 9449 §4.3 lists: compact JWS, `typ` dpop+jwt, an asymmetric
 * algorithm from DPOP_ALGORITHMS, the signature by the public key in its own `jwk` header (a private
 * or symmetric key there is refused), `htm` and `htu` equal to this request, `iat` within ±60 s,
 * `ath` equal to the presented token's hash, and a `jti` not seen before for this key. It does not
 * compare the key with a token's `cnf.jkt` unless given `boundTo`: the caller does, with the returned thumbprint.
 * No nonces (RFC 9449 §8): freshness rests on `iat` and the replay cache. Synchronous (`node:crypto`), so the door
 * answers a DPoP request for a known token without a promise, as it does a bearer one.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3
 */
export function verifyDpopProof(proof: string, check: ProofCheck): VerifiedProof {
  if (proof.length > MAX_PROOF_LENGTH || !JWS_COMPACT.test(proof)) throw invalidProof('malformed DPoP proof');
  const now = check.now ?? Date.now();
  const { payload, jkt } = verifyProofJws(proof);
  const { htm, htu, iat, jti, ath, exp, nbf } = payload;
  if (typeof jti !== 'string' || jti.length < 8 || jti.length > 256)
    throw invalidProof('DPoP proof jti missing or malformed');
  if (htm !== check.method) throw invalidProof('DPoP proof is for another HTTP method');
  // The verifier's own URL is already normal (no query, no fragment): the same text needs no parse.
  if (htu !== check.url) {
    const expected = normalizeHtu(check.url);
    if (typeof htu !== 'string' || expected === undefined || normalizeHtu(htu) !== expected)
      throw invalidProof('DPoP proof is for another URL');
  }
  if (typeof iat !== 'number' || !Number.isFinite(iat) || Math.abs(iat - now / 1000) > DPOP_MAX_AGE)
    throw invalidProof('DPoP proof is stale or from the future');
  // Not required by RFC 9449, but a proof that says it has expired, or is not valid yet, is not taken (RFC 7519 §4.1.4–5).
  if (exp !== undefined && (typeof exp !== 'number' || exp <= now / 1000)) throw invalidProof('DPoP proof has expired');
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now / 1000))
    throw invalidProof('DPoP proof not valid yet');
  if (check.accessTokenHash !== undefined && ath !== check.accessTokenHash) {
    throw invalidProof('DPoP proof ath does not match the access token');
  }
  // Only the key the token is bound to gets to record a proof: a proof by any other key fills no partition.
  if (check.boundTo !== undefined && jkt !== check.boundTo)
    throw new GatekitError('TOKEN_INVALID', 'token is bound to another DPoP key');
  check.replays.remember(jkt, jti, iat, now);
  return { jkt, jti };
}

/** A proof key's share of the replay cache (about 330 proofs a second for a minute), and the cache's bound. */
const DPOP_REPLAYS_PER_KEY = 20_000;
const DPOP_REPLAYS_MAX = 160_000;

/**
 * Every proof `jti` seen in the last DPOP_MAX_AGE seconds, partitioned per key (`jkt`, RFC 9449 §11.1), bounded in
 * memory twice: a key whose partition is full of live entries has its new proofs refused, and so has every key when
 * the whole cache is full — never forgetting an entry that could then be replayed. One key's flood therefore costs
 * only that key; filling the whole cache takes `max / perKey` keys at full rate. Entries leave once their `iat` is
 * outside the freshness window: they are also filed by the second they expire in, and a sweep (at most once a
 * second, or when a bound is reached) drops whole seconds, so a key at its bound costs O(1) per proof, not a scan.
 */
export class DpopReplayCache {
  readonly #byKey = new Map<string, Map<string, number>>();
  /** The second an entry expires in (its expiry rounded up) → the entries expiring then. */
  readonly #bySecond = new Map<number, Array<readonly [jkt: string, jti: string, until: number]>>();
  readonly #max: number;
  readonly #perKey: number;
  #size = 0;
  #sweptIn = Number.NaN;

  constructor(maxEntries = DPOP_REPLAYS_MAX, perKey = Math.min(DPOP_REPLAYS_PER_KEY, maxEntries)) {
    this.#max = maxEntries;
    this.#perKey = perKey;
  }

  /** Records proof `jti` of key `jkt` (issued at `iat`, seconds); DPOP_INVALID on a replay or over a bound. */
  remember(jkt: string, jti: string, iat: number, now = Date.now()): void {
    if (Math.floor(now / 1000) !== this.#sweptIn) this.#sweep(now);
    let seen = this.#byKey.get(jkt);
    const until = seen?.get(jti);
    if (until !== undefined && until > now) throw invalidProof('DPoP proof replayed (jti seen before)');
    if (until === undefined && seen && seen.size >= this.#perKey) {
      this.#sweep(now);
      if (seen.size >= this.#perKey) throw invalidProof('too many DPoP proofs by this key in the last minute');
    }
    if (until === undefined && this.#size >= this.#max) {
      this.#sweep(now);
      if (this.#size >= this.#max) throw invalidProof('too many DPoP proofs in flight; retry shortly');
    }
    seen = this.#byKey.get(jkt);
    if (!seen) this.#byKey.set(jkt, (seen = new Map()));
    if (!seen.has(jti)) this.#size++;
    const expires = (iat + DPOP_MAX_AGE + 1) * 1000;
    seen.set(jti, expires);
    const second = Math.ceil(expires / 1000);
    const filed = this.#bySecond.get(second);
    if (filed) filed.push([jkt, jti, expires]);
    else this.#bySecond.set(second, [[jkt, jti, expires]]);
  }

  /** Drops every second whose entries have all expired (an entry seen again since keeps its newer expiry). */
  #sweep(now: number): void {
    this.#sweptIn = Math.floor(now / 1000);
    for (const [second, entries] of this.#bySecond) {
      if (second * 1000 > now) continue;
      this.#bySecond.delete(second);
      for (const [jkt, jti, until] of entries) {
        const seen = this.#byKey.get(jkt);
        if (seen?.get(jti) !== until) continue;
        seen.delete(jti);
        this.#size--;
        if (seen.size === 0) this.#byKey.delete(jkt);
      }
    }
  }

  get size(): number {
    return this.#size;
  }
}
