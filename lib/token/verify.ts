import { errors, importJWK, jwtVerify, type JWTHeaderParameters } from 'jose';
import { GatekitError } from '../errors.js';
import type { AccessTokenClaims } from './claims.js';
import type { JoseKey, Jwks } from './keys.js';
import { edDsaHeaderOf, refuseBadSignature } from './signature-precheck.js';

const MAX_SKEW = 60;
const MAX_LIFETIME = 3600;
const MAX_TOKEN_LENGTH = 8192;
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Public keys the verifier trusts, by kid. Built from the configured source, never from a token's header. */
export interface TrustedKeys {
  readonly byKid: ReadonlyMap<string, JoseKey>;
  /** For a kid not in `byKid`: a live source may look at its keys again (rate-limited) and answer. */
  refresh?(kid: string): Promise<JoseKey | undefined>;
  /** Changes whenever a live source loads its keys again, so that earlier verdicts are checked anew. */
  readonly version?: number;
}

export async function trustKeys(jwks: Jwks): Promise<TrustedKeys> {
  const byKid = new Map<string, JoseKey>();
  for (const jwk of jwks.keys) {
    const { kty, crv, x, kid } = jwk;
    byKid.set(kid, await importJWK({ kty: kty!, crv: crv!, x: x! }, 'EdDSA'));
  }
  return { byKid };
}

export interface VerifyOptions {
  readonly keys: TrustedKeys;
  readonly issuers: readonly string[];
  readonly audience: string;
  /** Milliseconds since the epoch; defaults to the clock. */
  readonly now?: number;
  /** RFC 8705 thumbprint of the client certificate on this connection, if any. */
  readonly certThumbprint?: string | undefined;
  /** RFC 9449: thumbprint of the key of a DPoP proof that checked out for this request, if any. */
  readonly dpopJkt?: string | undefined;
}

function invalid(description: string, cause?: unknown): GatekitError {
  return new GatekitError('TOKEN_INVALID', description, { cause });
}

/**
 * Checks a Gatekit access token exactly as the daemon does (RFC 9068 §4, RFC 8725): compact JWS, alg pinned
 * to EdDSA whatever the header says, typ at+jwt, a trusted kid (jwk/jku/x5u headers are never
 * used), trusted iss, aud equal to this resource and nothing else, exp/iat/jti/sub present, not
 * expired, iat not in the future, lifetime ≤ 1 h, cnf bound to the presented certificate. It does
 * not check policy or per-user revocation; the caller does that on every request.
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4
 */
export async function verifyAccessToken(token: string, options: VerifyOptions): Promise<AccessTokenClaims> {
  const claims = await verifySignedClaims(token, options);
  checkBinding(claims, options.audience, options.certThumbprint, options.now, options.dpopJkt);
  return claims;
}

/** Signature and time-independent checks: the part worth caching per token. */
export async function verifySignedClaims(
  token: string,
  options: Omit<VerifyOptions, 'audience' | 'certThumbprint' | 'dpopJkt'>,
): Promise<AccessTokenClaims> {
  if (token.length > MAX_TOKEN_LENGTH || !JWS_COMPACT.test(token)) throw invalid('malformed token');
  const now = options.now ?? Date.now();
  // A bad signature is refused here, synchronously, in the order jose would refuse it; jose still checks all.
  const header = edDsaHeaderOf(token);
  const key = header && (await keyFor(header, options.keys));
  if (key) refuseBadSignature(token, key);
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(
      token,
      async (joseHeader: JWTHeaderParameters) => key ?? (await keyFor(joseHeader, options.keys)),
      {
        algorithms: ['EdDSA'],
        typ: 'at+jwt',
        issuer: [...options.issuers],
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
        clockTolerance: MAX_SKEW,
        currentDate: new Date(now),
      },
    ));
  } catch (err) {
    throw translate(err, options.issuers);
  }
  const { iat, exp, jti, sub, aud, scope } = payload as Record<string, unknown>;
  if (typeof iat !== 'number' || typeof exp !== 'number') throw invalid('iat and exp must be numbers');
  if (iat > now / 1000 + MAX_SKEW) throw invalid('token issued in the future');
  if (exp - iat > MAX_LIFETIME) throw invalid('token lifetime exceeds 1 hour');
  if (typeof jti !== 'string' || jti.length < 16) throw invalid('jti missing or too short');
  if (typeof sub !== 'string' || sub === '') throw invalid('sub missing');
  if (typeof aud !== 'string') throw invalid('aud must name exactly one resource');
  if (scope !== undefined && typeof scope !== 'string') throw invalid('scope must be a string');
  if (
    payload['groups'] !== undefined &&
    !(Array.isArray(payload['groups']) && payload['groups'].every((g) => typeof g === 'string'))
  ) {
    throw invalid('groups must be an array of strings');
  }
  return payload as AccessTokenClaims;
}

/** The trusted key a token's kid names; never one the token itself carries (`jwk`, `jku`, `x5u`). */
async function keyFor(header: { kid?: unknown }, keys: TrustedKeys): Promise<JoseKey> {
  if (typeof header.kid !== 'string') throw invalid('token header has no kid');
  const key = keys.byKid.get(header.kid) ?? (await keys.refresh?.(header.kid));
  if (!key) throw invalid('token signed by an untrusted key');
  return key;
}

/**
 * The per-request checks: expiry against now, audience, and the token's binding — a certificate
 * (RFC 8705 `cnf.x5t#S256`) or a DPoP key (RFC 9449 `cnf.jkt`) — to what this request presented.
 */
export function checkBinding(
  claims: AccessTokenClaims,
  audience: string,
  certThumbprint?: string,
  now = Date.now(),
  dpopJkt?: string,
): void {
  if (acceptedUntil(claims) <= now) throw new GatekitError('TOKEN_EXPIRED', 'token expired');
  if (claims.aud !== audience)
    throw invalid(`token is for ${JSON.stringify(claims.aud)}, expected ${JSON.stringify(audience)} (this server)`);
  if (claims.cnf === undefined) return;
  if (typeof claims.cnf !== 'object' || claims.cnf === null) throw invalid('unsupported cnf confirmation');
  const cnf = claims.cnf as Record<string, unknown>;
  const x5t = cnf['x5t#S256'];
  const jkt = cnf['jkt'];
  if (Object.keys(cnf).length !== 1 || (typeof x5t !== 'string' && typeof jkt !== 'string')) {
    throw invalid('unsupported cnf confirmation');
  }
  if (typeof x5t === 'string' && x5t !== certThumbprint) {
    throw invalid(
      certThumbprint === undefined
        ? `token is bound to a client certificate (x5t#S256 ${x5t}); this connection presented none`
        : `token is bound to client certificate x5t#S256 ${x5t}, this connection presented ${certThumbprint}`,
    );
  }
  // RFC 9449 §7.1: a DPoP-bound token needs a proof by its key; presented as Bearer, it has none.
  if (typeof jkt === 'string' && jkt !== dpopJkt) {
    throw invalid(
      dpopJkt === undefined
        ? 'token is DPoP-bound: send it with a DPoP proof'
        : `token is bound to DPoP key jkt ${jkt}, the proof was signed by ${dpopJkt}`,
    );
  }
}

/** When (epoch ms) the door stops taking a token: its `exp` plus the clock skew it allows (60 s). */
export function acceptedUntil(claims: Pick<AccessTokenClaims, 'exp'>): number {
  return (claims.exp + MAX_SKEW) * 1000;
}

const list = (values: Iterable<string>) => [...values].map((v) => JSON.stringify(v)).join(' or ');

function translate(err: unknown, issuers: Iterable<string>): GatekitError {
  if (err instanceof GatekitError) return err;
  if (err instanceof errors.JWTExpired) return new GatekitError('TOKEN_EXPIRED', 'token expired', { cause: err });
  if (err instanceof errors.JWTClaimValidationFailed) {
    // What was expected and what came: the issuer and type are public facts of the token, never a secret.
    const came = (err.payload as Record<string, unknown>)[err.claim];
    if (err.claim === 'iss')
      return invalid(`token issuer ${JSON.stringify(came)} is not trusted here (expected ${list(issuers)})`, err);
    if (err.claim === 'typ') return invalid('token type (typ header) is not "at+jwt"', err);
    return invalid(`claim "${err.claim}" check failed (${err.reason})`, err);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return invalid('algorithm not allowed', err);
  if (err instanceof errors.JWSSignatureVerificationFailed) return invalid('signature verification failed', err);
  if (err instanceof errors.JOSEError) return invalid(`malformed token (${err.code})`, err);
  return invalid('malformed token', err);
}
