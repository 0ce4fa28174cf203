import { serverByName, type Config, type ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { authorize, type Decision } from '../policy/index.js';
import {
  loadTrustedKeys,
  userOf,
  verifyAccessToken,
  verifySignedClaims,
  type AccessTokenClaims,
  type TrustedKeys,
} from '../token/index.js';

export interface Admission {
  readonly user: string;
  /** The tool patterns the token's scope grants. */
  readonly tools: readonly string[];
  /** The current policy's decision: a tool is callable only if scope, allow and deny all agree. */
  readonly decision: Extract<Decision, { allowed: true }>;
}

export interface VerifiedRequest extends Admission {
  readonly claims: AccessTokenClaims;
  readonly server: ServerConfig;
}

/**
 * The daemon's whole admission check for one token and one server, as `gatekit token verify`
 * runs it: signature and claims (lib/token), then the current policy and per-user not-before.
 */
export async function verifyForServer(
  config: Config,
  token: string,
  serverName?: string,
  keys?: TrustedKeys,
  certThumbprint?: string,
): Promise<VerifiedRequest> {
  const trusted = keys ?? (await loadTrustedKeys(config.daemon.trusted_keys));
  const issuers = [config.broker.issuer];
  if (serverName) {
    const server = serverByName(config, serverName);
    const options = { keys: trusted, issuers, audience: server.resource, certThumbprint };
    const claims = await verifyAccessToken(token, options);
    return { claims, server, ...admit(config, server, claims) };
  }
  // No server named: the token's own aud picks it, but only after its signature checks out.
  const signed = await verifySignedClaims(token, { keys: trusted, issuers });
  const server = [...config.servers.values()].find((s) => s.resource === signed.aud);
  if (!server)
    throw new GatekitError('TOKEN_INVALID', `aud "${signed.aud}" is not the resource of any server in ${config.file}`);
  const claims = await verifyAccessToken(token, { keys: trusted, issuers, audience: server.resource, certThumbprint });
  return { claims, server, ...admit(config, server, claims) };
}

/** Policy and not-before for verified claims; POLICY_DENIED when the current config refuses them. */
export function admit(config: Config, server: ServerConfig, claims: AccessTokenClaims): Admission {
  const user = userOf(claims, config.idp?.user_claim ?? 'email');
  const auth = authorize(
    { user, sub: claims.sub, groups: claims.groups ?? [], iat: claims.iat, scope: claims.scope },
    server,
    config.daemon.not_before,
  );
  if (!auth.allowed) {
    throw new GatekitError(
      auth.revoked ? 'TOKEN_INVALID' : 'POLICY_DENIED',
      auth.revoked ? auth.reason : `denied by policy: ${auth.reason}`,
    );
  }
  return { tools: auth.tools, user, decision: auth.decision };
}
