import { GatekitError } from '../../errors.js';
import { authenticate } from '../auth.js';
import type { RequestContext } from '../state.js';

const PROTOCOL_VERSIONS = new Set(['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05', '2024-10-07']);

/**
 * The door (lib/daemon/auth.ts → verify-request.ts): sets `verified` and `caller`, or throws the GatekitError that
 * the edge renders with a challenge. Then the MCP-Protocol-Version header, if sent, must be one we speak.
 */
export async function passDaemonDoor(ctx: RequestContext): Promise<void> {
  ctx.atDoor = true;
  const verified = await authenticate(ctx.req, ctx.state, ctx.server);
  ctx.atDoor = false;
  ctx.verified = verified;
  const { claims } = verified;
  ctx.caller = { user: verified.user, sub: claims.sub, jti: claims.jti, groups: claims.groups ?? [] };
  const version = ctx.req.headers['mcp-protocol-version'];
  if (typeof version === 'string' && !PROTOCOL_VERSIONS.has(version))
    throw new GatekitError('BAD_REQUEST', `unsupported MCP-Protocol-Version "${version.slice(0, 40)}"`);
}
