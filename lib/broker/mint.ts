import type { ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { evaluate, scopeFor } from '../policy/index.js';
import type { CachedToken, StoredSession } from '../store/index.js';
import { loadSigningKey, mintAccessToken } from '../token/index.js';
import { certificateBinding } from './binding.js';
import type { BrokerContext } from './context.js';

/**
 * Applies the policy for one server and, if the person is admitted, mints and caches a token for
 * it. A refusal is POLICY_DENIED naming the rule; nothing is minted or cached then.
 */
export async function mintForServer(ctx: BrokerContext, server: ServerConfig, session: StoredSession): Promise<CachedToken> {
  if (ctx.config.broker.mode === 'daemon') return exchangeForServer(ctx, server, session);
  const { identity } = session;
  const decision = evaluate(identity, server);
  if (!decision.allowed) {
    throw new GatekitError('POLICY_DENIED', `denied by policy for server "${server.name}": ${decision.reason}`,
      { hint: 'ask an administrator to add you to the server\'s allow_users or allow_groups' });
  }
  const { broker } = ctx.config;
  if (!broker.signing_key) throw new GatekitError('CONFIG_INVALID', `${ctx.config.file}: local mode needs broker.signing_key`);
  const key = await loadSigningKey(broker.signing_key);
  const binding = certificateBinding(ctx.config, server);
  const { token, claims } = await mintAccessToken(key, {
    certThumbprint: binding,
    identity,
    issuer: broker.issuer,
    resource: server.resource,
    scope: scopeFor(decision),
    clientId: ctx.idp.client_id,
    userClaim: ctx.idp.user_claim,
    ttl: broker.token_ttl,
  });
  return cache(ctx, server, token, claims, binding);
}

type CachedClaims = { exp: number; iat: number; scope: string; jti: string };

function cache(
  ctx: BrokerContext, server: ServerConfig, token: string, claims: CachedClaims, binding?: string,
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
  ctx.store.writeToken(cached);
  return cached;
}

/**
 * Daemon mode: the CLI never sees the signing key. It trades the IdP's ID token (while it is
 * fresh; else the access token, checked at userinfo) for a Gatekit token at the daemon.
 */
async function exchangeForServer(ctx: BrokerContext, server: ServerConfig, session: StoredSession): Promise<CachedToken> {
  const { exchangeToken, TOKEN_TYPES } = await import('../exchange/index.js');
  const idExp = session.id_token ? expiryOf(session.id_token) : undefined;
  const [subject, type] = idExp !== undefined && idExp > Date.now() / 1000 + 30
    ? [session.id_token!, TOKEN_TYPES.id_token]
    : session.access_token ? [session.access_token, TOKEN_TYPES.access_token] : [undefined, undefined];
  if (!subject || !type) throw new GatekitError('LOGIN_REQUIRED', 'the login has no ID or access token to exchange', { hint: 'run "gatekit broker login"' });
  const { access_token } = await exchangeToken(ctx.config, subject, type, server.resource);
  return cache(ctx, server, access_token, claimsOf(access_token));
}

/** Reads (does not verify) a JWT's claims: the daemon verified what it minted; this is for the cache. */
function claimsOf(jwt: string): { exp: number; iat: number; scope: string; jti: string } {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

function expiryOf(jwt: string): number | undefined {
  try { return claimsOf(jwt).exp } catch { return undefined }
}
