import type { IdpConfig } from '../config/index.js';
import { discoverIdp, type OidcConfiguration } from './client.js';
import { deviceLogin } from './device.js';
import type { LoginIO } from './io.js';
import { pkceLogin } from './pkce.js';
import { refreshIdpLogin, revokeIdpLogin } from './refresh.js';
import type { IdpLogin } from '../token/index.js';

export type LoginFlow = 'device' | 'pkce';

/** What logging out did at the provider: revoked, or why not (the login is forgotten locally either way). */
export interface Revocation {
  readonly revoked: boolean;
  readonly warning?: string | undefined;
}

/**
 * An identity provider as the broker sees it: log a person in (device code or browser + PKCE),
 * renew the login, revoke it. Each answer carries who the provider says the person is now
 * (`IdpLogin.identity`). Implemented for OpenID Connect here and for GitHub in lib/github.
 */
export interface IdentityProvider {
  /** `flow` undefined: the provider's default (PKCE when a browser can be opened, else the device flow). */
  login(flow: LoginFlow | undefined, io: LoginIO): Promise<IdpLogin>;
  /** RFC 6749 §6: renews the login; LOGIN_REQUIRED when the provider ended it. */
  refresh(login: IdpLogin): Promise<IdpLogin>;
  /** RFC 7009 where the provider can; never throws. */
  revoke(login: IdpLogin): Promise<Revocation>;
}

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
