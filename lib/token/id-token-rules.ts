import { isLogoutToken, mediaType } from './identity.js';

export interface IdTokenRules {
  /** Our client_id at the identity provider. */
  readonly clientId: string;
  /** Seconds: an ID token issued (`iat`) longer ago is refused; none at login and refresh (just issued). */
  readonly maxAge?: number | undefined;
  /** Epoch seconds (tests). */
  readonly now?: number;
}

/** Clock skew tolerated on `iat` and `auth_time` (seconds), as for Gatekit's own tokens. */
const SKEW = 60;

/**
 * Why a JWT whose signature, `iss` and `exp` are already verified is not an ID token issued to us,
 * or undefined when it is one. The one check login, refresh (lib/oidc) and the token exchange
 * (lib/daemon) share (OpenID Connect Core §3.1.3.7, RFC 8725 §3.11):
 * - `typ` absent or `JWT`: an RFC 9068 access token (`at+jwt`), a logout token (`logout+jwt`) or any
 *   other explicitly typed JWT signed by the same keys is never an ID token;
 * - no `events` claim (a logout token, OpenID Back-Channel Logout §2.4);
 * - `aud` contains our client; a `client_id` claim (RFC 9068 §2.2), when present, is ours;
 * - `azp` required with several audiences, and ours when present;
 * - `iat` a number, not in the future, and no older than `maxAge`; `auth_time`, when present, a
 *   number not in the future.
 * The reasons name claims, never their values.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-2.1
 */
export function idTokenProblem(
  typ: unknown,
  claims: Readonly<Record<string, unknown>>,
  rules: IdTokenRules,
): string | undefined {
  if (isLogoutToken(claims, typ)) return 'a logout token is not an ID token';
  if (typ !== undefined && mediaType(typ) !== 'jwt') {
    const shown = mediaType(typ)
      .replace(/[^a-z0-9+.-]/g, '?')
      .slice(0, 40);
    return `a token typed "${shown}" is not an ID token (an ID token is typed JWT or not at all)`;
  }
  const audiences = Array.isArray(claims['aud']) ? claims['aud'] : [claims['aud']];
  if (!audiences.includes(rules.clientId)) return 'the ID token is not for this client (aud)';
  if (claims['client_id'] !== undefined && claims['client_id'] !== rules.clientId) {
    return 'the token was issued to another client (client_id)';
  }
  if (audiences.length > 1 && claims['azp'] === undefined) {
    return 'the ID token names several audiences and no authorized party (azp)';
  }
  if (claims['azp'] !== undefined && claims['azp'] !== rules.clientId) {
    return 'the ID token was issued to another client (azp)';
  }
  const now = rules.now ?? Math.floor(Date.now() / 1000);
  const iat = claims['iat'];
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return 'the ID token has no issue time (iat)';
  if (iat > now + SKEW) return 'the ID token was issued in the future (iat)';
  if (rules.maxAge !== undefined && iat < now - rules.maxAge - SKEW) {
    return 'the ID token is older than id_token_max_age allows (iat)';
  }
  const authTime = claims['auth_time'];
  if (authTime !== undefined && (typeof authTime !== 'number' || authTime > now + SKEW)) {
    return 'the ID token says the person logged in in the future (auth_time)';
  }
  return undefined;
}
