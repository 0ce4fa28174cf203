export { findConfigFile, loadConfig, checkConfig } from './load.js';
export type { ConfigLookup } from './load.js';
export { parseDuration } from './duration.js';
export { isLoopbackHost, formatListen, tokenEndpointUrl } from './listen.js';
export type {
  Config,
  IdpConfig,
  IdpKind,
  BrokerConfig,
  DaemonConfig,
  DaemonLimits,
  DevConfig,
  Grant,
  Listen,
  ServerConfig,
  TlsFiles,
  ToolRules,
  ToolRule,
  ArgumentRule,
  RateRule,
  SchemaCheck,
  WorkloadTrust,
  TokenBinding,
} from './types.js';

import type { Config, IdpConfig, ServerConfig } from './types.js';
import { GatekitError } from '../errors.js';

/** The server named NAME, or a USAGE error listing the configured ones. */
export function serverByName(config: Config, name: string): ServerConfig {
  const server = config.servers.get(name);
  if (server) return server;
  const known = [...config.servers.keys()];
  throw new GatekitError('USAGE', `no server "${name}" in ${config.file}`, {
    hint: known.length ? `configured servers: ${known.join(', ')}` : 'add a [servers.NAME] table',
  });
}

export function requireIdp(config: Config): IdpConfig {
  if (config.idp) return config.idp;
  throw new GatekitError('CONFIG_INVALID', `${config.file}: no [idp] section`, {
    hint: 'add [idp] with issuer and client_id of your OpenID Connect provider',
  });
}
