import type { IdpConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import type { IdentityProvider } from '../provider/index.js';
import { githubDeviceLogin, githubRefresh } from './device.js';
import { githubIdentity } from './identity.js';

const NO_REVOCATION =
  "GitHub offers OAuth apps no token revocation without the client secret; revoke Gatekit's access at GitHub → " +
  'Settings → Applications if you need to';

/**
 * Sign in with GitHub as an identity provider: the device flow, then identity and teams from the API.
 * Renewal uses the refresh token (GitHub App expiring tokens); without one the stored token is
 * re-checked at the API, so a revoked token or a changed team shows at once (LOGIN_REQUIRED when
 * GitHub refuses it). There is no revocation without the client secret.
 * @see https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#device-flow
 */
export function githubProvider(idp: IdpConfig): IdentityProvider {
  return {
    async login(flow, io) {
      if (flow === 'pkce') {
        throw new GatekitError(
          'USAGE',
          'GitHub sign-in uses the device flow: GitHub still requires the client secret for the web flow, which a CLI cannot keep',
          { hint: 'drop --flow pkce' },
        );
      }
      return githubIdentity(idp, await githubDeviceLogin(idp, io));
    },
    async refresh(stored) {
      const tokens = stored.refresh_token
        ? await githubRefresh(idp, stored.refresh_token)
        : { access_token: stored.access_token ?? '' };
      return githubIdentity(idp, tokens, stored.identity.auth_time);
    },
    revoke: async () => ({ revoked: false, warning: NO_REVOCATION }),
  };
}
