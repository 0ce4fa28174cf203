import * as client from 'openid-client';
import type { IdpConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { idpError, type OidcConfiguration } from './client.js';
import type { IdpLogin } from '../token/index.js';
import { loginFromTokens } from './identity.js';

/**
 * Renews the login at the provider with its refresh token (RFC 6749 §6). The person is read again from what
 * the provider says now: the new ID token, else userinfo (loginFromTokens); a provider that
 * rotates refresh tokens gets the new one stored. `invalid_grant` means the login is over:
 * LOGIN_REQUIRED. A different `sub` than the login's is refused.
 */
export async function refreshIdpLogin(config: OidcConfiguration, idp: IdpConfig, login: IdpLogin): Promise<IdpLogin> {
  if (!login.refresh_token) {
    throw new GatekitError('LOGIN_REQUIRED', 'the identity provider gave no refresh token, and the login has expired', {
      hint: 'run "gatekit broker login"',
    });
  }
  try {
    const tokens = await client.refreshTokenGrant(config, login.refresh_token);
    const next = await loginFromTokens(config, idp, tokens, login);
    if (next.identity.sub !== login.identity.sub) {
      throw new GatekitError('LOGIN_REQUIRED', 'the identity provider returned a different subject on refresh', {
        hint: 'run "gatekit broker login"',
      });
    }
    return next;
  } catch (err) {
    throw idpError(err, 'refreshing the login failed');
  }
}

/**
 * Revokes the refresh token (RFC 7009) where the provider has a revocation endpoint.
 * Returns false when it has none; the caller still forgets the login locally.
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
export async function revokeIdpLogin(config: OidcConfiguration, login: IdpLogin): Promise<boolean> {
  if (!config.serverMetadata().revocation_endpoint) return false;
  const token = login.refresh_token ?? login.access_token;
  if (!token) return false;
  try {
    await client.tokenRevocation(config, token, {
      token_type_hint: login.refresh_token ? 'refresh_token' : 'access_token',
    });
    return true;
  } catch (err) {
    throw idpError(err, 'revoking the login failed');
  }
}
