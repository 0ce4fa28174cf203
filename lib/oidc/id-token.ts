import { decodeProtectedHeader } from 'jose';
import { GatekitError } from '../errors.js';
import { isLogoutToken, mediaType } from '../token/index.js';

const refused = (message: string) =>
  new GatekitError('IDP_ERROR', message, {
    hint: 'the identity provider answered with a token Gatekit must not use as an ID token; tell its administrator',
  });

/**
 * The ID-token checks of OpenID Connect Core §3.1.3.7 that openid-client leaves to us, run on an
 * ID token whose signature, `iss`, `aud`, `exp`, `iat` and `sub` it has already verified (and,
 * when `aud` has several values, the presence and value of `azp`):
 * - `azp`, when present at all, must be our client_id (item 5: the token was issued to us);
 * - a logout token (OpenID Back-Channel Logout 1.0 §2.4: an `events` claim, `typ: logout+jwt`),
 *   or any other explicitly typed JWT (RFC 8725 §3.11), is never an ID token.
 * It does not check `nonce` (the authorization code flow does) nor `auth_time`.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#Security
 */
export function checkIdToken(idToken: string, claims: Readonly<Record<string, unknown>>, clientId: string): void {
  let typ: unknown;
  try {
    typ = decodeProtectedHeader(idToken).typ;
  } catch {
    throw refused('the ID token has an unreadable header');
  }
  const type = mediaType(typ);
  if (isLogoutToken(claims, typ)) {
    throw refused('the identity provider sent a logout token where an ID token belongs');
  }
  if (type.endsWith('+jwt')) {
    throw refused(`the identity provider sent a "${type.slice(0, 40)}" token where an ID token belongs`);
  }
  if (claims['azp'] !== undefined && claims['azp'] !== clientId) {
    const azp = String(claims['azp']).slice(0, 80);
    throw refused(`the ID token was issued to another client (azp "${azp}", not "${clientId}")`);
  }
}
