import { serverByName } from '../config/index.js';
import type { CachedToken } from '../store/index.js';
import { certificateBinding } from './binding.js';
import type { BrokerContext } from './context.js';

function isFresh(token: CachedToken | undefined, minTtl: number, now = Date.now()): token is CachedToken {
  return token !== undefined && token.expires_at - now / 1000 >= minTtl;
}

/** The cache lookup alone: what `broker token` answers without loading any crypto or HTTP code. */
export function cachedToken(ctx: BrokerContext, serverName: string, minTtl: number): CachedToken | undefined {
  const server = serverByName(ctx.config, serverName);
  const token = ctx.store.readToken(ctx.config.broker.issuer, server.resource, certificateBinding(ctx.config, server));
  return isFresh(token, minTtl) ? token : undefined;
}
