import { jwtVerify, type JWTPayload } from 'jose';
import { idTokenProblem } from '../../token/index.js';
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
 * none), `iss`, `aud` containing our client_id, `exp`, then lib/token's `idTokenProblem`, the check
 * login and refresh run too: `typ` (never `at+jwt` or `logout+jwt`), `events`, `client_id`, `azp`,
 * `iat` no older than `maxAge`, `auth_time`. It does not check `nonce` (no authorization request of
 * ours is involved here).
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
  const problem = idTokenProblem(typ, payload, { clientId: rules.clientId, maxAge: rules.maxAge });
  if (problem) throw invalidSubject(problem);
  return payload;
}
