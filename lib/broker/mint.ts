import type { ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { issueAccessToken } from '../issue/index.js';
import type { CachedToken, Login } from '../store/index.js';
import { certificateBinding } from '../store/index.js';
import { loadSigningKey, TOKEN_TYPES } from '../token/index.js';
import type { DpopBinding } from './binding.js';
import { exchangeToken } from './exchange.js';
import type { BrokerContext } from './context.js';
import { renewLogin } from './idp-login.js';

/**
 * Applies the policy for one server and, if the person is admitted, mints and caches a token for
 * it. A refusal is POLICY_DENIED naming the rule; nothing is minted or cached then.
 */
export async function mintForServer(
  ctx: BrokerContext,
  server: ServerConfig,
  login: Login,
  dpop?: DpopBinding,
): Promise<CachedToken> {
  if (ctx.config.broker.mode === 'daemon') return exchangeForServer(ctx, server, login, dpop);
  const { config } = ctx;
  const signingKey = config.broker.signing_key;
  const key = () => {
    if (!signingKey) throw new GatekitError('CONFIG_INVALID', `${config.file}: local mode needs broker.signing_key`);
    return loadSigningKey(signingKey);
  };
  // A DPoP key, when the caller has one, replaces the certificate binding (a token carries one cnf).
  const binding = dpop ? undefined : certificateBinding(config, server);
  const input = { config, key, server, identity: login.provider.identity, certThumbprint: binding, jkt: dpop?.jkt };
  const { token, claims } = await issueAccessToken(input);
  return cache(ctx, server, token, claims, binding, dpop !== undefined);
}

type CachedClaims = { exp: number; iat: number; scope: string; jti: string };

function cache(
  ctx: BrokerContext,
  server: ServerConfig,
  token: string,
  claims: CachedClaims,
  binding?: string,
  processBound = false,
): CachedToken {
  const cached: CachedToken = {
    access_token: token,
    expires_at: claims.exp,
    issued_at: claims.iat,
    server: server.name,
    resource: server.resource,
    issuer: ctx.config.broker.issuer,
    scope: claims.scope,
    jti: claims.jti,
    ...(binding === undefined ? {} : { cnf_x5t: binding }),
  };
  // A DPoP-bound token works only with its process's key: never written to the shared cache.
  if (!processBound) ctx.store.writeToken(cached);
  return cached;
}

/**
 * Daemon mode: the CLI never sees the signing key. It trades the IdP's ID token for a Gatekit token
 * at the daemon, renewing the login first when the stored ID token is older than the daemon's
 * `[daemon] id_token_max_age` allows (less a minute). It sends the IdP's access token instead only
 * when `[daemon] accept_access_tokens` says the daemon takes them and no fresh ID token is at hand.
 */
async function exchangeForServer(
  ctx: BrokerContext,
  server: ServerConfig,
  login: Login,
  dpop?: DpopBinding,
): Promise<CachedToken> {
  const { daemon } = ctx.config;
  let current = login;
  if (!isFreshIdToken(current.provider.id_token, daemon.id_token_max_age) && current.provider.refresh_token) {
    current = await renewLogin(ctx, current);
  }
  let subject: [string, string] | undefined;
  const { id_token, access_token: idpAccessToken } = current.provider;
  if (isFreshIdToken(id_token, daemon.id_token_max_age)) subject = [id_token!, TOKEN_TYPES.id_token];
  else if (daemon.accept_access_tokens !== 'off' && idpAccessToken) {
    subject = [idpAccessToken, TOKEN_TYPES.access_token];
  }
  if (!subject) {
    throw new GatekitError(
      'LOGIN_REQUIRED',
      'the login has no fresh ID token to exchange (the identity provider sent none on renewal)',
      { hint: 'run "gatekit broker login"' },
    );
  }
  const { access_token } = await exchangeToken(ctx.config, subject[0], subject[1], server.resource, dpop?.proof);
  return cache(ctx, server, access_token, claimsOf(access_token), undefined, dpop !== undefined);
}

/** Unverified: the daemon checks it; this only decides whether it is worth sending. */
function isFreshIdToken(jwt: string | undefined, maxAge: number): boolean {
  if (!jwt) return false;
  let claims: { exp?: unknown; iat?: unknown };
  try {
    claims = claimsOf(jwt);
  } catch {
    return false;
  }
  const now = Date.now() / 1000;
  if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number') return false;
  return claims.exp > now + 5 && claims.iat > now - maxAge + Math.min(60, maxAge / 2);
}

/** Reads (does not verify) a JWT's claims: the daemon verified what it minted; this is for the cache. */
function claimsOf(jwt: string): { exp: number; iat: number; scope: string; jti: string } {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
}
