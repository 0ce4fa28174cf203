import { GatekitError, isGatekitError } from '../errors.js';
import type { BrokerContext } from './context.js';
import { renewLogin } from './idp-login.js';

export interface BrokerStatus {
  readonly logged_in: boolean;
  readonly idp: string;
  readonly user?: string;
  readonly sub?: string;
  readonly groups?: readonly string[];
  readonly logged_in_at?: string;
  readonly refreshed_at?: string;
  readonly renewable?: boolean;
  readonly session_expires_at?: string;
  readonly tokens: readonly {
    server: string;
    resource: string;
    scope: string;
    jti: string;
    expires_at: string;
    expired: boolean;
  }[];
}

const iso = (s: number) => new Date(s * 1000).toISOString();

/** Who is logged in and which tokens exist; reads the cache only, never the network. */
export function brokerStatus(ctx: BrokerContext): BrokerStatus {
  const s = ctx.store.readLogin();
  const now = Date.now() / 1000;
  const tokens = ctx.store
    .listTokens()
    .filter((t) => t.issuer === ctx.config.broker.issuer)
    .map((t) => ({
      server: t.server,
      resource: t.resource,
      scope: t.scope,
      jti: t.jti,
      expires_at: iso(t.expires_at),
      expired: t.expires_at <= now,
    }));
  if (!s) return { logged_in: false, idp: ctx.idp.issuer, tokens };
  return {
    logged_in: true,
    idp: s.idp,
    user: s.provider.identity.user,
    sub: s.provider.identity.sub,
    groups: s.provider.identity.groups,
    logged_in_at: iso(s.logged_in_at),
    refreshed_at: iso(s.refreshed_at),
    renewable: s.provider.refresh_token !== undefined,
    ...(s.provider.expires_at !== undefined ? { session_expires_at: iso(s.provider.expires_at) } : {}),
    tokens,
  };
}

/** What `broker status --check` learned from the identity provider. */
export type LoginCheck =
  { readonly asked: true; readonly confirmed_at: string } | { readonly asked: false; readonly reason: string };

/**
 * `broker status --check`: asks the identity provider whether the login still holds by renewing it
 * (RFC 6749 §6), under the login lock like any renewal. LOGIN_REQUIRED when the provider ended it.
 */
export async function checkLogin(ctx: BrokerContext): Promise<LoginCheck> {
  const release = await ctx.store.lock({});
  try {
    const login = ctx.store.readLogin();
    if (!login) return { asked: false, reason: 'not logged in' };
    if (!login.provider.refresh_token)
      return { asked: false, reason: 'this login has no refresh token: the identity provider cannot be asked' };
    try {
      const renewed = await renewLogin(ctx, login);
      return { asked: true, confirmed_at: iso(renewed.refreshed_at) };
    } catch (err) {
      if (!isGatekitError(err, 'LOGIN_REQUIRED')) throw err;
      throw new GatekitError('LOGIN_REQUIRED', `the identity provider no longer honours this login: ${err.message}`, {
        hint: 'run "gatekit broker login"',
        cause: err,
      });
    }
  } finally {
    release();
  }
}
