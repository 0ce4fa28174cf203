import type { Identity } from './claims.js';

/** Which claims name the person and their groups ([idp] user_claim, groups_claim). */
export interface ClaimNames {
  readonly user_claim: string;
  readonly groups_claim: string;
}

/**
 * The one claims → Identity rule, for ID tokens, userinfo answers and exchanged subject tokens.
 * The person is named by `user_claim`, falling back to the opaque `sub`. An email the provider
 * itself marks unverified (`email_verified: false`, OIDC Core §5.1) never names anyone: anybody
 * can type any address into an account profile. Groups are a string or an array of strings.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#StandardClaims
 */
export function identityFromClaims(
  claims: Readonly<Record<string, unknown>>,
  names: ClaimNames,
  authTime?: number,
): Identity {
  const sub = typeof claims['sub'] === 'string' ? claims['sub'] : '';
  const value = claims[names.user_claim];
  const unverified = names.user_claim === 'email' && claims['email_verified'] === false;
  const groups = claims[names.groups_claim];
  const time = typeof claims['auth_time'] === 'number' ? claims['auth_time'] : authTime;
  return {
    user: typeof value === 'string' && value !== '' && !unverified ? value : sub,
    sub,
    groups:
      typeof groups === 'string'
        ? groups === ''
          ? []
          : [groups]
        : Array.isArray(groups)
          ? groups.filter((g): g is string => typeof g === 'string')
          : [],
    auth_time: time,
  };
}

/**
 * Is this JWT a logout token (OpenID Back-Channel Logout 1.0 §2.4: an `events` claim, or
 * `typ: logout+jwt`)? It is signed by the same keys as an ID token, so it must never pass for one —
 * nor for an access token.
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#LogoutToken
 */
export function isLogoutToken(claims: Readonly<Record<string, unknown>>, typ: unknown): boolean {
  return claims['events'] !== undefined || mediaType(typ) === 'logout+jwt';
}

/** A JWS `typ` as RFC 7515 §4.1.9 compares it: case-insensitive, `application/` optional. */
export function mediaType(typ: unknown): string {
  return typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : '';
}

/**
 * What an identity provider answers at a login or a renewal: who the person is now, the claims to show,
 * and the provider's own tokens. The broker's stored login (lib/store `Login`) embeds it.
 */
export interface IdpLogin {
  readonly identity: Identity;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly refresh_token?: string | undefined;
  readonly access_token?: string | undefined;
  readonly id_token?: string | undefined;
  /** Epoch seconds; without a refresh token the login ends when the provider's access token does. */
  readonly expires_at?: number | undefined;
}
