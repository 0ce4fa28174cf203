import type { IdpSession, LoginIO } from '../oidc/index.js';
import type { StoredSession } from '../store/index.js';
import type { BrokerContext } from './context.js';
import { GatekitError } from '../errors.js';

export type LoginFlow = 'device' | 'pkce';

export function toStored(ctx: BrokerContext, s: IdpSession, previous?: StoredSession): StoredSession {
  const now = Math.floor(Date.now() / 1000);
  return {
    version: 1,
    idp: ctx.idp.issuer,
    client_id: ctx.idp.client_id,
    kind: ctx.idp.kind,
    identity: s.identity,
    claims: s.claims,
    refresh_token: s.refresh_token,
    access_token: s.access_token,
    id_token: s.id_token,
    expires_at: s.refresh_token ? undefined : s.expires_at,
    logged_in_at: previous?.logged_in_at ?? now,
    refreshed_at: now,
  };
}

/** Runs an interactive login at the provider and stores the session. The caller holds the lock. */
export async function interactiveLogin(
  ctx: BrokerContext,
  flow: LoginFlow | undefined,
  io: LoginIO,
): Promise<StoredSession> {
  // Login state is bound to the config file (see SessionStore): say which one this login is for.
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
    return await loginAtProvider(ctx, flow, shared);
  } finally {
    ctx.store.clearPendingDevice();
  }
}

async function loginAtProvider(ctx: BrokerContext, flow: LoginFlow | undefined, io: LoginIO): Promise<StoredSession> {
  if (ctx.idp.kind === 'github') {
    if (flow === 'pkce') {
      throw new GatekitError(
        'USAGE',
        'GitHub sign-in uses the device flow: GitHub still requires the client secret for the web flow, which a CLI cannot keep',
        { hint: 'drop --flow pkce' },
      );
    }
    const stored = toStored(ctx, await (await import('../github/index.js')).githubLogin(ctx.idp, io));
    ctx.store.clear();
    ctx.store.writeSession(stored);
    return stored;
  }
  const oidc = await import('../oidc/index.js');
  const config = await oidc.discoverIdp(ctx.idp);
  const chosen = flow ?? (io.openBrowser ? 'pkce' : 'device');
  const session =
    chosen === 'pkce' ? await oidc.pkceLogin(config, ctx.idp, io) : await oidc.deviceLogin(config, ctx.idp, io);
  const stored = toStored(ctx, session);
  ctx.store.clear();
  ctx.store.writeSession(stored);
  return stored;
}

/** Renews the stored session at the provider (new refresh token and claims stored). The caller holds the lock. */
export async function refreshStored(ctx: BrokerContext, session: StoredSession): Promise<StoredSession> {
  if (ctx.idp.kind === 'github') {
    const next = toStored(ctx, await (await import('../github/index.js')).githubRenew(ctx.idp, session), session);
    ctx.store.writeSession(next);
    return next;
  }
  const oidc = await import('../oidc/index.js');
  const config = await oidc.discoverIdp(ctx.idp);
  const next = toStored(ctx, await oidc.refreshIdpSession(config, ctx.idp, session), session);
  ctx.store.writeSession(next);
  return next;
}

export function describeIdentity(s: StoredSession): string {
  const groups = s.identity.groups.length ? ` (groups: ${s.identity.groups.join(', ')})` : '';
  return `${s.identity.user}${groups}`;
}
