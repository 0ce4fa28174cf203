import type { ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { evaluate, scopeFor } from '../policy/index.js';
import type { CachedToken } from '../store/index.js';
import { loadSigningKey, mintAccessToken, type Identity } from '../token/index.js';
import type { BrokerContext } from './context.js';

/**
 * Applies the policy for one server and, if the person is admitted, mints and caches a token for
 * it. A refusal is POLICY_DENIED naming the rule; nothing is minted or cached then.
 */
export async function mintForServer(ctx: BrokerContext, server: ServerConfig, identity: Identity): Promise<CachedToken> {
  const decision = evaluate(identity, server);
  if (!decision.allowed) {
    throw new GatekitError('POLICY_DENIED', `denied by policy for server "${server.name}": ${decision.reason}`,
      { hint: 'ask an administrator to add you to the server\'s allow_users or allow_groups' });
  }
  const { broker } = ctx.config;
  if (broker.mode !== 'local' || !broker.signing_key) {
    throw new GatekitError('CONFIG_INVALID', `${ctx.config.file}: broker.mode "${broker.mode}" is not supported by this version`, { hint: 'use mode = "local"' });
  }
  const key = await loadSigningKey(broker.signing_key);
  const { token, claims } = await mintAccessToken(key, {
    identity,
    issuer: broker.issuer,
    resource: server.resource,
    scope: scopeFor(decision),
    clientId: ctx.idp.client_id,
    userClaim: ctx.idp.user_claim,
    ttl: broker.token_ttl,
  });
  const cached: CachedToken = {
    access_token: token,
    expires_at: claims.exp,
    issued_at: claims.iat,
    server: server.name,
    resource: server.resource,
    issuer: broker.issuer,
    scope: claims.scope,
    jti: claims.jti,
  };
  ctx.store.writeToken(cached);
  return cached;
}
