import type { IdpSession, LoginFlow, LoginIO } from '../oidc/index.js';
import type { StoredSession } from '../store/index.js';
import type { BrokerContext } from './context.js';

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
    const stored = toStored(ctx, await ctx.provider.login(flow, shared));
    ctx.store.clear();
    ctx.store.writeSession(stored);
    return stored;
  } finally {
    ctx.store.clearPendingDevice();
  }
}

/** Renews the stored session at the provider (new refresh token and claims stored). The caller holds the lock. */
export async function refreshStored(ctx: BrokerContext, session: StoredSession): Promise<StoredSession> {
  const next = toStored(ctx, await ctx.provider.refresh(session), session);
  ctx.store.writeSession(next);
  return next;
}

export function describeIdentity(s: StoredSession): string {
  const groups = s.identity.groups.length ? ` (groups: ${s.identity.groups.join(', ')})` : '';
  return `${s.identity.user}${groups}`;
}
