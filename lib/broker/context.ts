import type { Config, IdpConfig, IdpKind } from '../config/index.js';
import { requireIdp } from '../config/index.js';
import { githubProvider } from '../github/index.js';
import { oidcProvider } from '../oidc/index.js';
import type { IdentityProvider } from '../provider/index.js';
import { LoginStore, type CachedToken } from '../store/index.js';

/** The `gatekit exec` agent (lib/exec) as a token source: asks it for a token for server `resource`. */
export type AgentSource = (resource: string, minTtl: number, dpopProof?: string) => Promise<CachedToken>;

/** Everything a broker operation needs, resolved once per command. */
export interface BrokerContext {
  readonly config: Config;
  readonly idp: IdpConfig;
  /** `[idp] kind`'s adapter, chosen here once: nothing else in the broker asks which kind it is. */
  readonly provider: IdentityProvider;
  readonly store: LoginStore;
  readonly env: NodeJS.ProcessEnv;
  /** Set under `gatekit exec`: its agent holds the login and answers every token request. */
  readonly agent?: AgentSource | undefined;
}

const PROVIDERS: Readonly<Record<IdpKind, (idp: IdpConfig) => IdentityProvider>> = {
  oidc: oidcProvider,
  github: githubProvider,
};

export function brokerContext(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
  agent?: AgentSource,
): BrokerContext {
  const idp = requireIdp(config);
  const store = new LoginStore(idp.issuer, idp.client_id, config.file, env);
  return { config, idp, provider: PROVIDERS[idp.kind](idp), store, env, agent };
}
