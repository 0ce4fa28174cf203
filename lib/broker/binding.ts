import type { Config, ServerConfig } from '../config/index.js';
import { certificateBinding } from '../store/index.js';

// `gatekit token verify --cert` reaches this file directly (docs/architecture.md, "Known exceptions").
export { certificateThumbprint } from '../store/index.js';

/**
 * How `gatekit connect` binds its tokens for `server` (RFC 8705 or RFC 9449): "mtls" when the server
 * asks for it, or listens on mTLS and this CLI mints locally with [daemon] client_tls (as before);
 * otherwise "dpop" — a per-process key, a proof on every request.
 */
export function connectBinding(config: Config, server: ServerConfig): 'dpop' | 'mtls' {
  if (server.token_binding === 'mtls') return 'mtls';
  if (server.token_binding === 'dpop') return 'dpop';
  return certificateBinding(config, server) === undefined ? 'dpop' : 'mtls';
}

/** A token request bound to a DPoP key: its thumbprint, and a proof for tokenEndpointUrl(). */
export interface DpopBinding {
  readonly jkt: string;
  readonly proof: string;
}
