import type { LoginFlow, LoginIO } from '../provider/index.js';
import type { Login } from '../store/index.js';
import type { IdpLogin } from '../token/index.js';
import type { BrokerContext } from './context.js';

function toLogin(ctx: BrokerContext, provider: IdpLogin, previous?: Login): Login {
  const now = Math.floor(Date.now() / 1000);
  // Without a refresh token the login ends when the provider's access token does; with one, it is renewed.
  const { expires_at, ...rest } = provider;
  return {
    idp: ctx.idp.issuer,
    client_id: ctx.idp.client_id,
    kind: ctx.idp.kind,
    provider: provider.refresh_token ? rest : provider,
    logged_in_at: previous?.logged_in_at ?? now,
    refreshed_at: now,
  };
}

/** Runs an interactive login at the provider and stores it. The caller holds the lock. */
export async function interactiveLogin(ctx: BrokerContext, flow: LoginFlow | undefined, io: LoginIO): Promise<Login> {
  // Login state is bound to the config file (see LoginStore): say which one this login is for.
  io.say(`Logging in for ${ctx.store.configFile} (this login is used only with this config file).`);
  // Other processes waiting for this login show its URL and code rather than start their own.
  const shared: LoginIO = {
    ...io,
    onDeviceCode: (prompt) => {
      ctx.store.writePendingDevice(prompt);
      io.onDeviceCode?.(prompt);
    },
  };
  try {
    const login = toLogin(ctx, await ctx.provider.login(flow, shared));
    ctx.store.clear();
    ctx.store.writeLogin(login);
    return login;
  } finally {
    ctx.store.clearPendingDevice();
  }
}

/** Renews the stored login at the provider (new refresh token and claims stored). The caller holds the lock. */
export async function renewLogin(ctx: BrokerContext, login: Login): Promise<Login> {
  const next = toLogin(ctx, await ctx.provider.refresh(login.provider), login);
  ctx.store.writeLogin(next);
  return next;
}

export function describeIdentity(login: Login): string {
  const { user, groups } = login.provider.identity;
  return `${user}${groups.length ? ` (groups: ${groups.join(', ')})` : ''}`;
}
