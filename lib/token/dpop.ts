import { createHash } from 'node:crypto';
import { EmbeddedJWK, calculateJwkThumbprint, errors, jwtVerify, type JWK, type JWSHeaderParameters } from 'jose';
import { GatekitError } from '../errors.js';

/** Asymmetric algorithms only (RFC 9449 §4.3 step 5: never "none", never a MAC). */
export const DPOP_ALGORITHMS: readonly string[] = ['ES256', 'EdDSA'];
/** A proof's `iat` may be this many seconds before or after the verifier's clock. */
export const DPOP_MAX_AGE = 60;
const MAX_PROOF_LENGTH = 8192;
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface ProofCheck {
  /** The request's method (`htm`). */
  readonly method: string;
  /** The request's URI as the verifier computes it (`htu`); query and fragment are ignored. */
  readonly url: string;
  /** The access token presented with the proof: its hash must be the proof's `ath`. */
  readonly accessToken?: string | undefined;
  readonly replays: DpopReplayCache;
  /** Milliseconds since the epoch; defaults to the clock. */
  readonly now?: number;
}

export interface VerifiedProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's public key: what `cnf.jkt` must equal. */
  readonly jkt: string;
  readonly jti: string;
}

function invalidProof(description: string, cause?: unknown): GatekitError {
  return new GatekitError('DPOP_INVALID', description, { cause });
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
 * compare the key with a token's `cnf.jkt`: the caller does, with the returned thumbprint.
 * No nonces (RFC 9449 §8): freshness rests on `iat` and the replay cache.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3
 */
export async function verifyDpopProof(proof: string, check: ProofCheck): Promise<VerifiedProof> {
  if (proof.length > MAX_PROOF_LENGTH || !JWS_COMPACT.test(proof)) throw invalidProof('malformed DPoP proof');
  const now = check.now ?? Date.now();
  let payload: Record<string, unknown>;
  let jwk: JWK;
  try {
    const verified = await jwtVerify(proof, embeddedKey, {
      typ: 'dpop+jwt',
      algorithms: [...DPOP_ALGORITHMS],
      currentDate: new Date(now),
      requiredClaims: ['iat', 'jti'],
    });
    payload = verified.payload as Record<string, unknown>;
    jwk = verified.protectedHeader.jwk as JWK;
  } catch (err) {
    throw invalidProof(describe(err), err);
  }
  const { htm, htu, iat, jti, ath } = payload;
  if (typeof jti !== 'string' || jti.length < 8 || jti.length > 256)
    throw invalidProof('DPoP proof jti missing or malformed');
  if (htm !== check.method) throw invalidProof('DPoP proof is for another HTTP method');
  const expected = normalizeHtu(check.url);
  if (typeof htu !== 'string' || expected === undefined || normalizeHtu(htu) !== expected) {
    throw invalidProof('DPoP proof is for another URL');
  }
  if (typeof iat !== 'number' || Math.abs(iat - now / 1000) > DPOP_MAX_AGE)
    throw invalidProof('DPoP proof is stale or from the future');
  if (check.accessToken !== undefined && ath !== accessTokenHash(check.accessToken)) {
    throw invalidProof('DPoP proof ath does not match the access token');
  }
  const jkt = await calculateJwkThumbprint(jwk, 'sha256');
  check.replays.remember(`${jkt}.${jti}`, iat, now);
  return { jkt, jti };
}

const PUBLIC_MEMBERS = new Set(['kty', 'crv', 'x', 'y']);
const importedKeys = new Map<string, Awaited<ReturnType<typeof EmbeddedJWK>>>();

/**
 * jose's EmbeddedJWK (a public key only; `use`/`alg` members checked), remembering the imported key
 * for a `jwk` made of public members alone, so a client's next proof skips the import. Bounded.
 */
async function embeddedKey(header: JWSHeaderParameters, token: Parameters<typeof EmbeddedJWK>[1]) {
  const jwk = header.jwk as Record<string, unknown> | undefined;
  const cacheable = typeof jwk === 'object' && jwk !== null && Object.keys(jwk).every((m) => PUBLIC_MEMBERS.has(m));
  const id = cacheable ? JSON.stringify([header.alg, jwk['kty'], jwk['crv'], jwk['x'], jwk['y']]) : undefined;
  const known = id === undefined ? undefined : importedKeys.get(id);
  if (known) return known;
  const key = await EmbeddedJWK(header, token);
  if (id !== undefined) {
    if (importedKeys.size >= 1000) importedKeys.clear();
    importedKeys.set(id, key);
  }
  return key;
}

function describe(err: unknown): string {
  if (err instanceof errors.JOSEAlgNotAllowed) return 'DPoP proof algorithm not allowed';
  if (err instanceof errors.JWTClaimValidationFailed) return `DPoP proof claim "${err.claim}" check failed`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'DPoP proof signature verification failed';
  if (err instanceof errors.JOSEError) return `malformed DPoP proof (${err.code})`;
  return 'malformed DPoP proof';
}

/**
 * Every proof `jti` seen in the last DPOP_MAX_AGE seconds, per key (RFC 9449 §11.1), bounded in
 * memory: when full of live entries it refuses new proofs rather than forget one that could then
 * be replayed. Entries expire once their `iat` is outside the freshness window.
 */
export class DpopReplayCache {
  readonly #seen = new Map<string, number>();
  readonly #max: number;

  constructor(maxEntries = 100_000) {
    this.#max = maxEntries;
  }

  remember(key: string, iat: number, now = Date.now()): void {
    const seen = this.#seen.get(key);
    if (seen !== undefined && seen > now) throw invalidProof('DPoP proof replayed (jti seen before)');
    if (this.#seen.size >= this.#max) {
      for (const [k, expires] of this.#seen) if (expires <= now) this.#seen.delete(k);
      if (this.#seen.size >= this.#max) throw invalidProof('too many DPoP proofs in flight; retry shortly');
    }
    this.#seen.set(key, (iat + DPOP_MAX_AGE + 1) * 1000);
  }

  get size(): number {
    return this.#seen.size;
  }
}
