import type { BrokerContext } from './context.js';

export interface LogoutResult {
  readonly wasLoggedIn: boolean;
  readonly revoked: boolean;
  readonly warning?: string;
}

/**
 * Forgets the login and its tokens. The refresh token is revoked at the provider first when it
 * has an RFC 7009 endpoint; if the provider is unreachable the local state is still removed.
 */
export async function logout(ctx: BrokerContext): Promise<LogoutResult> {
  const release = await ctx.store.lock();
  try {
    const login = ctx.store.readLogin();
    if (!login) {
      ctx.store.clear();
      return { wasLoggedIn: false, revoked: false };
    }
    const { revoked, warning } = await ctx.provider.revoke(login.provider);
    ctx.store.clear();
    return { wasLoggedIn: true, revoked, ...(warning ? { warning } : {}) };
  } finally {
    release();
  }
}
