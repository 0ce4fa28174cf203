import * as client from 'openid-client';
import type { IdpConfig } from '../config/index.js';
import { identityFromClaims, type Identity } from '../token/index.js';
import type { OidcConfiguration } from './client.js';

/** What a successful login or refresh yields; the broker stores it. */
export interface IdpSession {
  readonly identity: Identity;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly refresh_token?: string | undefined;
  readonly access_token?: string | undefined;
  readonly id_token?: string | undefined;
  readonly expires_at?: number | undefined;
}

/**
 * Turns a token response into an IdpSession. The person is named by [idp] user_claim and their
 * groups by groups_claim; when the ID token lacks them and the provider has a userinfo endpoint,
 * userinfo fills them in. Without a readable name the opaque `sub` stands in.
 */
export async function sessionFromTokens(
  config: OidcConfiguration,
  idp: IdpConfig,
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
  previous?: IdpSession,
): Promise<IdpSession> {
  const idClaims = tokens.claims() as Record<string, unknown> | undefined;
  // No new ID token on refresh is normal (RFC 6749 §6): keep what the login said.
  let claims: Record<string, unknown> = { ...(previous?.claims ?? {}), ...(idClaims ?? {}) };
  const sub = String(claims['sub'] ?? '');
  const lacks = claims[idp.user_claim] === undefined || claims[idp.groups_claim] === undefined;
  if (lacks && tokens.access_token && config.serverMetadata().userinfo_endpoint && sub) {
    try {
      const info = await client.fetchUserInfo(config, tokens.access_token, sub);
      claims = { ...info, ...claims, [idp.user_claim]: claims[idp.user_claim] ?? info[idp.user_claim], [idp.groups_claim]: claims[idp.groups_claim] ?? info[idp.groups_claim] };
    } catch { /* userinfo is a bonus; the ID token stands */ }
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
