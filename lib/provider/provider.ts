import type { IdpLogin } from '../token/index.js';
import type { LoginIO } from './io.js';

export type LoginFlow = 'device' | 'pkce';

/** What logging out did at the provider: revoked, or why not (the login is forgotten locally either way). */
interface Revocation {
  readonly revoked: boolean;
  readonly warning?: string | undefined;
}

/**
 * An identity provider as the broker sees it: log a person in (device code or browser + PKCE),
 * renew the login, revoke it. Each answer carries who the provider says the person is now
 * (`IdpLogin.identity`). Implemented for OpenID Connect in lib/oidc and for GitHub in lib/github;
 * the broker chooses one (`brokerContext`) and asks nothing else of which kind it is.
 */
export interface IdentityProvider {
  /** `flow` undefined: the provider's default (PKCE when a browser can be opened, else the device flow). */
  login(flow: LoginFlow | undefined, io: LoginIO): Promise<IdpLogin>;
  /** RFC 6749 §6: renews the login; LOGIN_REQUIRED when the provider ended it. */
  refresh(login: IdpLogin): Promise<IdpLogin>;
  /** RFC 7009 where the provider can; never throws. */
  revoke(login: IdpLogin): Promise<Revocation>;
}
