import type { IdpConfig } from '../config/index.js';
import { discoverIdp, type OidcConfiguration } from './client.js';
import { deviceLogin } from './device.js';
import { pkceLogin } from './pkce.js';
import { refreshIdpLogin, revokeIdpLogin } from './refresh.js';
import type { IdentityProvider } from '../provider/index.js';

/**
 * The OpenID Connect provider of `[idp]`. Its discovery document is read once, on first use.
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html
 */
export function oidcProvider(idp: IdpConfig): IdentityProvider {
  let discovered: Promise<OidcConfiguration> | undefined;
  const discover = () => {
    discovered ??= discoverIdp(idp);
    // A failed discovery is not remembered: the next use tries again.
    discovered.catch(() => {
      discovered = undefined;
    });
    return discovered;
  };
  return {
    async login(flow, io) {
      const config = await discover();
      const chosen = flow ?? (io.openBrowser ? 'pkce' : 'device');
      return chosen === 'pkce' ? pkceLogin(config, idp, io) : deviceLogin(config, idp, io);
    },
    async refresh(login) {
      return refreshIdpLogin(await discover(), idp, login);
    },
    async revoke(login) {
      try {
        if (await revokeIdpLogin(await discover(), login)) return { revoked: true };
        return {
          revoked: false,
          warning: 'the identity provider has no revocation endpoint; the login there ends on its own schedule',
        };
      } catch (err) {
        const why = (err as Error).message;
        return {
          revoked: false,
          warning: `could not revoke at the identity provider (${why}); forgot the login locally`,
        };
      }
    },
  };
}
