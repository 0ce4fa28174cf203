import * as client from 'openid-client';
import type { IdpConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { idpError, type OidcConfiguration } from './client.js';
import { sessionFromTokens, type IdpSession } from './identity.js';

/**
 * Renews the IdP session with its refresh token (RFC 6749 §6). The person is read again from what
 * the provider says now: the new ID token, else userinfo (sessionFromTokens); a provider that
 * rotates refresh tokens gets the new one stored. `invalid_grant` means the session is over:
 * LOGIN_REQUIRED. A different `sub` than the login's is refused.
 */
export async function refreshIdpSession(
  config: OidcConfiguration,
  idp: IdpConfig,
  session: IdpSession,
): Promise<IdpSession> {
  if (!session.refresh_token) {
    throw new GatekitError('LOGIN_REQUIRED', 'the identity provider gave no refresh token, and the login has expired', {
      hint: 'run "gatekit broker login"',
    });
  }
  try {
    const tokens = await client.refreshTokenGrant(config, session.refresh_token);
    const next = await sessionFromTokens(config, idp, tokens, session);
    if (next.identity.sub !== session.identity.sub) {
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
 * Returns false when it has none; the caller still forgets the session locally.
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
export async function revokeIdpSession(config: OidcConfiguration, session: IdpSession): Promise<boolean> {
  if (!config.serverMetadata().revocation_endpoint) return false;
  const token = session.refresh_token ?? session.access_token;
  if (!token) return false;
  try {
    await client.tokenRevocation(config, token, {
      token_type_hint: session.refresh_token ? 'refresh_token' : 'access_token',
    });
    return true;
  } catch (err) {
    throw idpError(err, 'revoking the login failed');
  }
}
