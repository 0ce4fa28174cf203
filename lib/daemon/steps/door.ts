import { GatekitError } from '../../errors.js';
import { isStatelessVersion } from '../../mcp/index.js';
import type { RequestContext } from '../state.js';
import type { VerifiedRequest } from '../verify-request.js';

const PROTOCOL_VERSIONS = new Set(['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05', '2024-10-07']);

/**
 * After the door (lib/daemon/auth.ts → verify-request.ts) let the request in: `verified` and `caller` are set, then
 * the MCP-Protocol-Version header, if sent, must be one we speak. The pipeline awaits the door itself (one await,
 * as before the steps), with `atDoor` set so that the edge renders its refusals with a challenge.
 */
export function enterDoor(ctx: RequestContext, verified: VerifiedRequest): void {
  ctx.atDoor = false;
  ctx.verified = verified;
  const { claims } = verified;
  ctx.caller = { user: verified.user, sub: claims.sub, jti: claims.jti, groups: claims.groups ?? [] };
  const version = ctx.req.headers['mcp-protocol-version'];
  // A POST claiming a version from 2026-07-28 on is judged with its body (lib/daemon/era: -32022 with `data`).
  const judgedOnBody = ctx.req.method === 'POST' && typeof version === 'string' && isStatelessVersion(version);
  if (typeof version === 'string' && !PROTOCOL_VERSIONS.has(version) && !judgedOnBody)
    // The value is not echoed: the message reaches the audit log, and a header is the client's to choose.
    throw new GatekitError('BAD_REQUEST', 'unsupported MCP-Protocol-Version');
}
