import type { Config, ServerConfig } from '../config/index.js';
import { toolPatternsOf } from '../policy/index.js';
import { DPOP_ALGORITHMS } from '../token/index.js';

const cache = new WeakMap<ServerConfig, { hosts: Set<string>; origins: Set<string> }>();

function names(server: ServerConfig): { hosts: Set<string>; origins: Set<string> } {
  let entry = cache.get(server);
  if (!entry) {
    if (server.listen.kind === 'unix') {
      const hosts = ['localhost', '127.0.0.1', '[::1]'];
      entry = { hosts: new Set(hosts), origins: new Set(hosts.map((h) => `http://${h}`)) };
    } else {
      const port = server.listen.port;
      const hosts = ['localhost', '127.0.0.1', '[::1]'].map((h) => `${h}:${port}`);
      entry = { hosts: new Set(hosts), origins: new Set(hosts.map((h) => `https://${h}`)) };
    }
    cache.set(server, entry);
  }
  return entry;
}

/** Host headers this listener answers to: its loopback names only (DNS rebinding). */
export const allowedHosts = (server: ServerConfig): Set<string> => names(server).hosts;
/** Origins that may call it: its own, if a browser is involved at all. */
export const allowedOrigins = (server: ServerConfig): Set<string> => names(server).origins;

export function metadataUrl(server: ServerConfig): string {
  const base = server.listen.kind === 'unix' ? 'http://localhost' : `https://127.0.0.1:${server.listen.port}`;
  return `${base}/.well-known/oauth-protected-resource`;
}

/** RFC 9728 protected resource metadata for one server. */
export function protectedResourceMetadata(config: Config, server: ServerConfig): Record<string, unknown> {
  const scopes = new Set(
    toolPatternsOf(
      [...server.tools.allow, ...server.grants.flatMap((g) => g.tools.allow)].map((p) => `tools:${p}`).join(' '),
    ).map((p) => `tools:${p}`),
  );
  return {
    resource: server.resource,
    authorization_servers: [config.broker.issuer],
    bearer_methods_supported: ['header'],
    scopes_supported: [...scopes],
    resource_name: `Gatekit: ${server.name}`,
    // RFC 9728 §2: the DPoP algorithms the daemon verifies, and whether bearer tokens are refused.
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
    dpop_bound_access_tokens_required: server.token_binding === 'dpop',
  };
}
