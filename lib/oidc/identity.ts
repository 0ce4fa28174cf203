import * as client from 'openid-client';
import type { IdpConfig } from '../config/index.js';
import { identityFromClaims, type IdpLogin } from '../token/index.js';
import { idpError, type OidcConfiguration } from './client.js';
import { checkIdToken } from './id-token.js';

/**
 * Turns a token response into an IdpLogin from what the provider says now, never from what an
 * earlier answer said: the person is named by [idp] user_claim and their groups by groups_claim,
 * from the new ID token (checked by checkIdToken) and, for what it lacks, from userinfo. A refresh
 * without a new ID token (RFC 6749 §6 allows it) re-reads the person at userinfo, so a group
 * removed at the provider is gone at the next mint; only a provider with neither keeps the login's
 * claims. Without a readable name the opaque `sub` stands in.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#RefreshTokenResponse
 */
export async function loginFromTokens(
  config: OidcConfiguration,
  idp: IdpConfig,
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
  previous?: IdpLogin,
): Promise<IdpLogin> {
  const idClaims = tokens.claims() as Record<string, unknown> | undefined;
  if (idClaims && tokens.id_token) checkIdToken(tokens.id_token, idClaims, idp.client_id);
  let claims: Record<string, unknown> = idClaims ? { ...idClaims } : { sub: previous?.identity.sub };
  const sub = typeof claims['sub'] === 'string' ? claims['sub'] : '';
  const lacks = !idClaims || claims[idp.user_claim] === undefined || claims[idp.groups_claim] === undefined;
  if (lacks && tokens.access_token && config.serverMetadata().userinfo_endpoint && sub) {
    let info: client.UserInfoResponse;
    try {
      info = await client.fetchUserInfo(config, tokens.access_token, sub);
    } catch (err) {
      throw idpError(err, 'reading who you are at the identity provider (userinfo) failed');
    }
    claims = { ...info, ...claims };
  } else if (!idClaims) {
    claims = { ...previous?.claims, sub };
  }
  const expiresIn = tokens.expiresIn();
  return {
    identity: identityFromClaims(claims, idp, previous?.identity.auth_time ?? Math.floor(Date.now() / 1000)),
    claims: pickPublicClaims(claims),
    refresh_token: tokens.refresh_token ?? previous?.refresh_token,
    access_token: tokens.access_token,
    id_token: tokens.id_token ?? previous?.id_token,
    expires_at: expiresIn === undefined ? undefined : Math.floor(Date.now() / 1000) + expiresIn,
  };
}

/** Claims worth showing in `broker status`; no nonces or hashes. */
function pickPublicClaims(claims: Record<string, unknown>): Record<string, unknown> {
  const { nonce: _n, at_hash: _a, c_hash: _c, sid: _s, ...rest } = claims;
  return rest;
}
