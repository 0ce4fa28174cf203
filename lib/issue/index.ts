import type { Config, ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { evaluate, scopeFor } from '../policy/index.js';
import { mintAccessToken, type Identity, type MintedToken, type SigningKey } from '../token/index.js';

export interface IssueInput {
  readonly config: Config;
  /** Called only once the policy admits the person, so a refusal never needs the key. */
  readonly key: () => SigningKey | Promise<SigningKey>;
  readonly server: ServerConfig;
  readonly identity: Identity;
  /** RFC 8705 §3: binds the token to one client certificate. */
  readonly certThumbprint?: string | undefined;
  /** RFC 9449 §6: binds the token to one DPoP key; it wins over the certificate (a token carries one `cnf`). */
  readonly jkt?: string | undefined;
}

/**
 * The one way a Gatekit token comes to be, in local mode (lib/broker/mint.ts) and at the daemon's token endpoint
 * (endpoint.ts): the policy for one server (lib/policy `evaluate`), then an RFC 9068 token with the scope it grants,
 * the broker's issuer and `token_ttl`, and the IdP's `client_id` and `user_claim` ("gatekit" and "email" without an
 * [idp]). A refusal is POLICY_DENIED naming the rule; nothing is minted then.
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-2
 */
export async function issueAccessToken(input: IssueInput): Promise<MintedToken> {
  const { config, server, identity } = input;
  const decision = evaluate(identity, server);
  if (!decision.allowed) {
    throw new GatekitError('POLICY_DENIED', `denied by policy for server "${server.name}": ${decision.reason}`, {
      hint: "ask an administrator to add you to the server's allow_users or allow_groups",
      rule: decision.rule,
    });
  }
  return mintAccessToken(await input.key(), {
    identity,
    issuer: config.broker.issuer,
    resource: server.resource,
    scope: scopeFor(decision),
    clientId: config.idp?.client_id ?? 'gatekit',
    userClaim: config.idp?.user_claim ?? 'email',
    ttl: config.broker.token_ttl,
    ...(input.jkt ? { jkt: input.jkt } : { certThumbprint: input.certThumbprint }),
  });
}
