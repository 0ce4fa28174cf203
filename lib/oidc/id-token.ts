import { decodeProtectedHeader } from 'jose';
import { GatekitError } from '../errors.js';
import { idTokenProblem } from '../token/index.js';

const refused = (message: string) =>
  new GatekitError('IDP_ERROR', message, {
    hint: 'the identity provider answered with a token Gatekit must not use as an ID token; tell its administrator',
  });

/**
 * The ID-token checks of OpenID Connect Core §3.1.3.7 that openid-client leaves to us, run at login
 * and refresh on an ID token whose signature, `iss`, `aud`, `exp`, `iat` and `sub` it has already
 * verified: lib/token's `idTokenProblem`, the one check the token exchange runs too (typ, `events`,
 * `client_id`, `azp`, `iat`/`auth_time` bounds). It does not check `nonce` (the authorization code
 * flow does).
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
 */
export function checkIdToken(idToken: string, claims: Readonly<Record<string, unknown>>, clientId: string): void {
  let typ: unknown;
  try {
    typ = decodeProtectedHeader(idToken).typ;
  } catch {
    throw refused('the ID token has an unreadable header');
  }
  const problem = idTokenProblem(typ, claims, { clientId });
  if (problem) throw refused(`the identity provider sent an unusable ID token: ${problem}`);
}
