import type { IdpConfig } from '../config/index.js';
import type { IdpSession, LoginIO } from '../oidc/index.js';
import { githubDeviceLogin, githubRefresh } from './device.js';
import { githubIdentity } from './identity.js';

export { apiBase } from './api.js';

/** `broker login` with [idp] kind = "github": the device flow, then identity and teams from the API. */
export async function githubLogin(idp: IdpConfig, io: LoginIO): Promise<IdpSession> {
  return githubIdentity(idp, await githubDeviceLogin(idp, io));
}

/**
 * Renews a GitHub session: with a refresh token (GitHub App expiring tokens) a new access token;
 * without one the stored token is re-checked at the API, so a revoked token or a changed team
 * shows at once (LOGIN_REQUIRED when GitHub refuses it).
 */
export async function githubRenew(
  idp: IdpConfig,
  stored: {
    access_token?: string | undefined;
    refresh_token?: string | undefined;
    identity: { auth_time?: number | undefined };
  },
): Promise<IdpSession> {
  const tokens = stored.refresh_token
    ? await githubRefresh(idp, stored.refresh_token)
    : { access_token: stored.access_token ?? '' };
  return githubIdentity(idp, tokens, stored.identity.auth_time);
}
