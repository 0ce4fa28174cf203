import type { Config, ServerConfig } from '../config/index.js';
import { certificateBinding } from './binding.js';
import type { CachedToken, LoginStore } from './login-store.js';

/**
 * The cached token for `server` when it has at least `minTtl` seconds left: the one cache
 * rule, for the broker's `tokenFor` and for the CLI's fast path (which loads no crypto or HTTP code).
 */
export function cachedToken(
  store: LoginStore,
  config: Config,
  server: ServerConfig,
  minTtl: number,
  now = Date.now() / 1000,
): CachedToken | undefined {
  const token = store.readToken(config.broker.issuer, server.resource, certificateBinding(config, server));
  return token !== undefined && token.expires_at - now >= minTtl ? token : undefined;
}
