import type { Config, ServerConfig } from '../config/index.js';
import { toolPatternsOf } from '../policy/index.js';
import { DPOP_ALGORITHMS } from '../token/index.js';

/** The names a listener answers to: Host headers (its loopback names only, DNS rebinding) and its own Origins. */
export interface ListenerNames {
  readonly hosts: ReadonlySet<string>;
  readonly origins: ReadonlySet<string>;
}

/** Each server's listener names, made once per loaded config (the daemon's `LoadedState`). */
export function listenerNames(config: Config): ReadonlyMap<string, ListenerNames> {
  const names = new Map<string, ListenerNames>();
  for (const server of config.servers.values()) {
    const scheme = server.listen.kind === 'unix' ? 'http' : 'https';
    const port = server.listen.kind === 'unix' ? '' : `:${server.listen.port}`;
    const hosts = ['localhost', '127.0.0.1', '[::1]'].map((h) => `${h}${port}`);
    names.set(server.name, { hosts: new Set(hosts), origins: new Set(hosts.map((h) => `${scheme}://${h}`)) });
  }
  return names;
}

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
