import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopbackHost } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { createProvider } from './idp-provider.js';
import { idpHandler, isOwnHost } from './idp-server.js';
import { DEV_USERS, type DevUser } from './users.js';

export interface DevIdpOptions {
  /** e.g. "http://127.0.0.1:7400"; port 0 picks a free one (the issuer then names it). Loopback only. */
  readonly issuer?: string;
  readonly clientId?: string;
  /** More public device-flow clients, e.g. another application the same people sign in to. */
  readonly otherClients?: readonly string[];
  readonly ttl?: { accessToken?: number; idToken?: number; refreshToken?: number; deviceCode?: number };
  readonly users?: readonly DevUser[];
}

export interface DevIdp {
  readonly issuer: string;
  readonly clientId: string;
  /** Successful token-endpoint grants by grant_type (e.g. counts.refresh_token). */
  readonly counts: Readonly<Record<string, number>>;
  /** Ends every grant of a user, as an administrator would: their refresh tokens stop working. */
  revokeUser(email: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the embedded DEVELOPMENT-ONLY OpenID provider (oidc-provider) on loopback: fixed dev
 * users, password "dev", device and code+PKCE flows, refresh tokens, revocation, userinfo.
 */
export async function startDevIdp(options: DevIdpOptions = {}): Promise<DevIdp> {
  const url = new URL(options.issuer ?? 'http://127.0.0.1:0');
  if (url.protocol !== 'http:' || !isLoopbackHost(url.hostname.replace(/^\[|\]$/g, ''))) {
    throw new GatekitError(
      'CONFIG_INVALID',
      `the development identity provider serves only http on loopback, not ${url.origin}`,
      {
        hint: 'use an [idp] issuer like "http://127.0.0.1:7400", or turn [dev] idp off for a real provider',
      },
    );
  }
  const users = options.users ?? DEV_USERS;
  const clientId = options.clientId ?? 'gatekit-cli';
  const grants = new Map<string, Set<string>>();
  const counts: Record<string, number> = {};
  // The issuer names the port, so listen first and hand requests to the provider once it exists.
  let handle: RequestListener = (_req, res) => {
    res.writeHead(503).end();
  };
  let port = 0;
  const server = createServer((req, res) => {
    if (isOwnHost(req.headers.host, port)) return handle(req, res);
    res
      .writeHead(421, { 'content-type': 'text/plain' })
      .end(`this development IdP answers only http://127.0.0.1:${port}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new GatekitError(
          'USAGE',
          `cannot serve the development identity provider on ${url.host}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.code}`,
          {
            cause: err,
            hint:
              err.code === 'EADDRINUSE'
                ? `another "gatekit dev" (npm start) probably serves it: use that one, or stop it with Ctrl-C in its terminal; or give [idp] issuer another port`
                : `choose another [idp] issuer port`,
          },
        ),
      ),
    );
    server.listen(Number(url.port || 80), url.hostname.replace(/^\[|\]$/g, ''), resolve);
  });
  port = (server.address() as AddressInfo).port;
  const issuer = `http://${url.hostname}:${port}`;
  const provider = await createProvider({
    issuer,
    clientId,
    users,
    otherClients: options.otherClients,
    ttl: { accessToken: 600, idToken: 600, refreshToken: 14 * 86400, deviceCode: 600, ...options.ttl },
  });
  provider.on('grant.success', (ctx) => {
    const type = String(ctx.oidc.params?.['grant_type'] ?? 'unknown').replace('urn:ietf:params:oauth:grant-type:', '');
    counts[type] = (counts[type] ?? 0) + 1;
  });
  handle = idpHandler(provider, users, (account, grant) => {
    grants.set(account, (grants.get(account) ?? new Set()).add(grant));
  });

  return {
    issuer,
    clientId,
    counts,
    revokeUser: async (email) => {
      const user = users.find((u) => u.email === email);
      for (const grantId of grants.get(user?.sub ?? '') ?? []) {
        await Promise.all(
          [provider.RefreshToken, provider.AccessToken, provider.AuthorizationCode, provider.DeviceCode].map((model) =>
            (model as unknown as { revokeByGrantId(id: string): Promise<void> }).revokeByGrantId(grantId),
          ),
        );
        await (await provider.Grant.find(grantId))?.destroy();
      }
      grants.delete(user?.sub ?? '');
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
