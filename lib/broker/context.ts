import type { Config, IdpConfig } from '../config/index.js';
import { requireIdp } from '../config/index.js';
import { SessionStore } from '../store/index.js';

/** Everything a broker operation needs, resolved once per command. */
export interface BrokerContext {
  readonly config: Config;
  readonly idp: IdpConfig;
  readonly store: SessionStore;
  readonly env: NodeJS.ProcessEnv;
}

export function brokerContext(config: Config, env: NodeJS.ProcessEnv = process.env): BrokerContext {
  const idp = requireIdp(config);
  return { config, idp, store: new SessionStore(idp.issuer, idp.client_id, config.file, env), env };
}
