import { GatekitError } from '../errors.js';
import type { CachedToken } from '../store/index.js';
import type { TokenFormat } from './options.js';

/** A compact JWS (RFC 7515 §7.1): three base64url parts, nothing else — no newline, no `=`, no space. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** The daemon accepts no larger token (README § Token format). */
const MAX_TOKEN_BYTES = 8192;

/**
 * Formats a token for stdout: raw, an RFC 6749-shaped JSON object, env lines, or an HTTP header object.
 * Every path (cache, agent, token endpoint, fast path) goes through here, so here the token is checked
 * to be a compact JWS of at most 8 KiB with an integer `expires_at`: whatever else came back is refused
 * (TOKEN_INVALID) rather than printed — `--format env` output is appended to files like $GITHUB_ENV,
 * where a newline would inject variables. Checks the shape only, not the signature.
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-7.1
 */
export function formatToken(token: CachedToken, format: TokenFormat, now = Date.now()): string {
  const value: unknown = token?.access_token;
  if (typeof value !== 'string' || value.length > MAX_TOKEN_BYTES || !COMPACT_JWS.test(value)) {
    throw new GatekitError('TOKEN_INVALID', 'refusing to print a token that is not a compact JWS of at most 8 KiB', {
      hint: 'the token cache or agent is corrupt or tampered with: run "gatekit broker logout", then log in again',
    });
  }
  if (!Number.isSafeInteger(token.expires_at)) {
    throw new GatekitError('TOKEN_INVALID', 'refusing to print a token whose expires_at is not an integer', {
      hint: 'run "gatekit broker logout", then log in again',
    });
  }
  switch (format) {
    case 'raw':
      return `${token.access_token}\n`;
    case 'headers':
      return `${JSON.stringify({ Authorization: `Bearer ${token.access_token}` })}\n`;
    case 'env':
      return `GATEKIT_TOKEN=${token.access_token}\nGATEKIT_TOKEN_EXPIRES_AT=${token.expires_at}\n`;
    case 'json':
      return `${JSON.stringify(
        {
          access_token: token.access_token,
          token_type: 'Bearer',
          expires_in: Math.max(0, Math.floor(token.expires_at - now / 1000)),
          expires_at: new Date(token.expires_at * 1000).toISOString(),
          scope: token.scope,
          resource: token.resource,
          server: token.server,
          issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        },
        null,
        2,
      )}\n`;
  }
}
