import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { Configuration } from 'oidc-provider';
import { claimsOf, type DevUser } from './users.js';
import { confirmPage, donePage, layout, userCodePage } from './idp-pages.js';

export interface ProviderOptions {
  readonly issuer: string;
  readonly clientId: string;
  /** More public device-flow clients: other applications at the same provider (tests of who a token was issued to). */
  readonly otherClients?: readonly string[] | undefined;
  readonly users: readonly DevUser[];
  readonly ttl: { accessToken: number; idToken: number; refreshToken: number; deviceCode: number };
}

export const SCOPES = ['openid', 'offline_access', 'email', 'profile', 'groups'];
export const CLAIMS = ['email', 'email_verified', 'name', 'groups'];

/**
 * The oidc-provider configuration of the development IdP: one public native client (PKCE, any
 * loopback port, device flow), claims in the ID token, refresh tokens without a consent screen
 * (the interaction pages grant everything to the dev client), and our own pages.
 */
export async function createProvider(options: ProviderOptions): Promise<Provider> {
  const bySub = new Map(options.users.map((u) => [u.sub, u]));
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const configuration: Configuration = {
    clients: [options.clientId, ...(options.otherClients ?? [])].map((clientId, i) => ({
      client_id: clientId,
      client_name: i === 0 ? 'Gatekit CLI' : clientId,
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
      require_auth_time: true,
    })),
    findAccount: (_ctx, sub) => {
      const user = bySub.get(sub);
      return user ? { accountId: sub, claims: () => claimsOf(user) } : undefined;
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: SCOPES,
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      // Each policy below is oidc-provider's default, stated so it prints no "you SHOULD change it" NOTICE
      // (on `broker logout`, for one): a client may revoke or introspect (RFC 7009, RFC 7662) only its own tokens.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = layout(
            'Sign out',
            `<p>Sign out of the development identity provider?</p>${form}<button form="op.logoutForm" name="logout" value="yes">Sign out</button>`,
          );
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = layout('Signed out', '<p>You are signed out of the development identity provider.</p>');
        },
      },
      userinfo: { enabled: true },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: (ctx, form, _out, err) => {
          ctx.body = userCodePage(form, err ? 'That code is not valid; check your terminal and try again.' : undefined);
        },
        userCodeConfirmSource: (ctx, form, client, _info, userCode) => {
          ctx.body = confirmPage(form, userCode, client.clientName ?? client.clientId);
        },
        successSource: (ctx) => {
          ctx.body = donePage();
        },
      },
    },
    pkce: { required: () => true },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    jwks: { keys: [{ ...signingKey, kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' }] as never },
    ttl: {
      AccessToken: options.ttl.accessToken,
      IdToken: options.ttl.idToken,
      RefreshToken: options.ttl.refreshToken,
      DeviceCode: options.ttl.deviceCode,
      Grant: options.ttl.refreshToken,
      Session: options.ttl.refreshToken,
      Interaction: 600,
      AuthorizationCode: 60,
    },
    // offline_access is normally dropped without prompt=consent; the dev client always gets refresh tokens.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = layout(
        'Sign-in error',
        `<p class="error">${String(out['error_description'] ?? out['error'] ?? 'error').replace(/[&<>"']/g, '')}</p>`,
      );
    },
  };
  const provider = await quietly(
    async () => new (await import('oidc-provider')).default(options.issuer, configuration),
  );
  provider.on('server_error', (_ctx, err) => process.stderr.write(`gatekit dev IdP: server error: ${err.message}\n`));
  return provider;
}

/**
 * oidc-provider warns that Node 20 is not a supported runtime and that its in-memory store is for
 * development; both are true and known here (the banner says DEVELOPMENT ONLY), so they are
 * dropped. Any other warning still shows.
 */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (
      /oidc-provider WARNING: (Unsupported runtime|a quick start development-only in-memory adapter)/.test(
        String(args[0]),
      )
    )
      return;
    warn(...args);
  };
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}
