import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { REGISTERED_CLAIMS, type AccessTokenClaims, type Identity } from './claims.js';
import type { SigningKey } from './keys.js';

export interface MintInput {
  readonly identity: Identity;
  readonly issuer: string;
  readonly resource: string;
  readonly scope: string;
  readonly clientId: string;
  readonly userClaim: string;
  /** Lifetime in seconds; the caller enforces the configured maximum. */
  readonly ttl: number;
  /** RFC 8705 certificate thumbprint binding the token to one client certificate. */
  readonly certThumbprint?: string | undefined;
  /** RFC 9449 §6 JWK thumbprint binding the token to one DPoP key; not together with certThumbprint. */
  readonly jkt?: string | undefined;
  readonly now?: number;
}

export interface MintedToken {
  readonly token: string;
  readonly claims: AccessTokenClaims;
}

/**
 * Signs an RFC 9068 JWT access token (typ at+jwt, EdDSA) for exactly one resource.
 * It does not decide who may have it: the policy does that before.
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-2
 */
export async function mintAccessToken(key: SigningKey, input: MintInput): Promise<MintedToken> {
  if (!Number.isFinite(input.ttl) || input.ttl <= 0 || input.ttl > 3600)
    throw new TypeError(`ttl out of range: ${input.ttl}`);
  const iat = Math.floor((input.now ?? Date.now()) / 1000);
  const { identity } = input;
  const claims: Record<string, unknown> = {
    iss: input.issuer,
    sub: identity.sub,
    aud: input.resource,
    exp: iat + Math.floor(input.ttl),
    iat,
    jti: randomBytes(16).toString('base64url'),
    client_id: input.clientId,
    scope: input.scope,
    groups: [...identity.groups],
  };
  if (!REGISTERED_CLAIMS.has(input.userClaim) && input.userClaim !== 'sub') claims[input.userClaim] = identity.user;
  if (identity.auth_time !== undefined) claims['auth_time'] = identity.auth_time;
  if (input.certThumbprint && input.jkt) throw new TypeError('bind a token to a certificate or a DPoP key, not both');
  if (input.certThumbprint) claims['cnf'] = { 'x5t#S256': input.certThumbprint };
  if (input.jkt) claims['cnf'] = { jkt: input.jkt };
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: key.kid })
    .sign(key.key);
  return { token, claims: claims as AccessTokenClaims };
}
