/**
 * The token agent's wire format: HTTP over a 0600 Unix socket in a private directory, one route.
 * `POST /token {"resource": NAME, "min_ttl": SECONDS, "config": REALPATH}` → 200 CachedToken | 4xx/5xx AgentError.
 * `config` is the real path of the config file the asking process uses; the agent answers only
 * for its own (a login is sent only where the config that made it sends it). With `dpop_proof` (a
 * DPoP proof, RFC 9449, for POST to the token endpoint URL) the token is bound to the proof's key.
 */
export const AGENT_ENV = 'GATEKIT_AGENT';

export interface AgentTokenRequest {
  readonly resource: string;
  readonly min_ttl: number;
  readonly config: string;
  readonly dpop_proof?: string | undefined;
}

export interface AgentError {
  readonly error: string;
  readonly message: string;
  readonly hint?: string | undefined;
}
