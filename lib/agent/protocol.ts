/**
 * The token agent's wire format: HTTP over a 0600 Unix socket in a private directory, one route.
 * `POST /token {"resource": NAME, "min_ttl": SECONDS}` → 200 CachedToken | 4xx/5xx AgentError.
 */
export const AGENT_ENV = 'GATEKIT_AGENT';

export interface AgentTokenRequest { readonly resource: string; readonly min_ttl: number }

export interface AgentError { readonly error: string; readonly message: string; readonly hint?: string | undefined }
