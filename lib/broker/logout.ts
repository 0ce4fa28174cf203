import type { BrokerContext } from './context.js';

export interface LogoutResult {
  readonly wasLoggedIn: boolean;
  readonly revoked: boolean;
  readonly warning?: string;
}

/**
 * Forgets the session and its tokens. The refresh token is revoked at the provider first when it
 * has an RFC 7009 endpoint; if the provider is unreachable the local state is still removed.
 */
export async function logout(ctx: BrokerContext): Promise<LogoutResult> {
  const release = await ctx.store.lock();
  try {
    const session = ctx.store.readSession();
    if (!session) {
      ctx.store.clear();
      return { wasLoggedIn: false, revoked: false };
    }
    let revoked = false;
    let warning: string | undefined;
    if (ctx.idp.kind === 'github') {
      ctx.store.clear();
      return {
        wasLoggedIn: true,
        revoked: false,
        warning:
          "GitHub offers OAuth apps no token revocation without the client secret; revoke Gatekit's access at GitHub → Settings → Applications if you need to",
      };
    }
    try {
      const oidc = await import('../oidc/index.js');
      revoked = await oidc.revokeIdpSession(await oidc.discoverIdp(ctx.idp), session);
      if (!revoked) warning = 'the identity provider has no revocation endpoint; its session ends on its own schedule';
    } catch (err) {
      warning = `could not revoke at the identity provider (${(err as Error).message}); forgot the login locally`;
    }
    ctx.store.clear();
    return { wasLoggedIn: true, revoked, ...(warning ? { warning } : {}) };
  } finally {
    release();
  }
}
