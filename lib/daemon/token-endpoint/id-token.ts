import { jwtVerify, type JWTPayload } from 'jose';
import { isLogoutToken } from '../../token/index.js';
import { algorithmsOf, describeJoseError, invalidSubject, type Discovery, type RemoteKeys } from './idp-metadata.js';

export interface IdTokenRules {
  readonly issuer: string;
  readonly clientId: string;
  /** Seconds: an ID token issued longer ago is refused. */
  readonly maxAge: number;
}

/** Clock skew tolerated on exp and iat (seconds), as for Gatekit's own tokens. */
const SKEW = 60;

/**
 * Validates an ID token as OpenID Connect Core §3.1.3.7 asks of a client: the signature by the
 * issuer's JWKS with an asymmetric algorithm its discovery document lists (`RS256` when it lists
 * none), `iss`, `aud` containing our client_id, `azp` equal to our client_id when present and
 * required when `aud` has several values, `exp`, and `iat` no older than `maxAge`. A logout
 * token (OIDC Back-Channel Logout §2.4: an `events` claim or `typ: logout+jwt`) is never an ID
 * token. It does not check `nonce` (no authorization request of ours is involved here).
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
 */
export async function verifyIdToken(
  token: string,
  doc: Discovery,
  keys: RemoteKeys,
  rules: IdTokenRules,
): Promise<JWTPayload> {
  const algorithms = algorithmsOf(doc);
  let payload: JWTPayload;
  let typ: string | undefined;
  try {
    ({
      payload,
      protectedHeader: { typ },
    } = await jwtVerify(token, keys, {
      issuer: rules.issuer,
      audience: rules.clientId,
      algorithms,
      requiredClaims: ['sub', 'exp', 'iat'],
      maxTokenAge: rules.maxAge,
      clockTolerance: SKEW,
    }));
  } catch (err) {
    throw invalidSubject(`the ID token is not valid: ${describeJoseError(err)}`, err);
  }
  if (isLogoutToken(payload, typ)) {
    throw invalidSubject('a logout token is not an ID token');
  }
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (audiences.length > 1 && payload['azp'] === undefined) {
    throw invalidSubject('the ID token names several audiences and no authorized party (azp)');
  }
  if (payload['azp'] !== undefined && payload['azp'] !== rules.clientId) {
    throw invalidSubject('the ID token was issued to another client (azp)');
  }
  return payload;
}
