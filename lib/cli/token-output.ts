import type { CachedToken } from '../store/index.js';
import type { TokenFormat } from './options.js';

/** Formats a token for stdout: raw, an RFC 6749-shaped JSON object, env lines, or an HTTP header object. */
export function formatToken(token: CachedToken, format: TokenFormat, now = Date.now()): string {
  switch (format) {
    case 'raw': return `${token.access_token}\n`;
    case 'headers': return `${JSON.stringify({ Authorization: `Bearer ${token.access_token}` })}\n`;
    case 'env': return `GATEKIT_TOKEN=${token.access_token}\nGATEKIT_TOKEN_EXPIRES_AT=${token.expires_at}\n`;
    case 'json': return `${JSON.stringify({
      access_token: token.access_token,
      token_type: 'Bearer',
      expires_in: Math.max(0, Math.floor(token.expires_at - now / 1000)),
      expires_at: new Date(token.expires_at * 1000).toISOString(),
      scope: token.scope,
      resource: token.resource,
      server: token.server,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    }, null, 2)}\n`;
  }
}
