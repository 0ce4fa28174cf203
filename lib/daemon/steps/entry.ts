import type { IncomingHttpHeaders } from 'node:http';
import { GatekitError } from '../../errors.js';
import { isStatelessVersion, PROTOCOL_VERSIONS } from '../../mcp/index.js';
import type { Era } from '../era/index.js';
import { protectedResourceMetadata } from '../origin.js';
import type { RequestContext } from '../state.js';
import { sendJson } from '../../http/index.js';

/**
 * Host and Origin (DNS rebinding, MCP Streamable HTTP "security warning"): the Host must be one of the listener's
 * loopback names and an Origin, if sent, its own. FORBIDDEN otherwise.
 */
export function checkHostAndOrigin(ctx: RequestContext): void {
  const names = ctx.state.names.get(ctx.server.name)!;
  if (!names.hosts.has(ctx.req.headers.host ?? ''))
    throw new GatekitError('FORBIDDEN', "Host header is not this listener's loopback name");
  const origin = ctx.req.headers.origin;
  if (origin !== undefined && !names.origins.has(origin)) throw new GatekitError('FORBIDDEN', 'foreign Origin');
}

/**
 * After the door: the MCP-Protocol-Version header, if sent, must be one we speak (after the door, so that a request
 * without a token is told to log in first).
 */
export function checkVersionHeader(ctx: RequestContext): void {
  const version = ctx.req.headers['mcp-protocol-version'];
  // A POST claiming a version from 2026-07-28 on is judged with its body (lib/daemon/era: -32022 with `data`).
  const judgedOnBody = ctx.req.method === 'POST' && typeof version === 'string' && isStatelessVersion(version);
  if (typeof version === 'string' && !PROTOCOL_VERSIONS.has(version) && !judgedOnBody)
    // The value is not echoed: the message reaches the audit log, and a header is the client's to choose.
    throw new GatekitError('BAD_REQUEST', 'unsupported MCP-Protocol-Version');
}

/**
 * The route: RFC 9728 metadata is answered here without a token (true: answered), `/mcp` goes on (false), any
 * other path is NOT_FOUND.
 */
export function answerRoute(ctx: RequestContext, path: string): boolean {
  if (path === '/.well-known/oauth-protected-resource' || path === '/.well-known/oauth-protected-resource/mcp') {
    sendJson(ctx.res, 200, protectedResourceMetadata(ctx.state.config, ctx.server));
    return true;
  }
  if (path !== '/mcp') throw new GatekitError('NOT_FOUND', 'not found: the MCP endpoint is /mcp');
  return false;
}

/**
 * The era a request's headers tell before its body is read (README "Two eras of MCP on one listener"): an
 * `Mcp-Session-Id` is session-era; an `MCP-Protocol-Version` from 2026-07-28 on without one is stateless (as the
 * body step reads that header); anything else is left undecided. Refusals before the body carry it in their audit
 * line; the body step decides from the body and may correct it.
 */
export function eraFromHeaders(headers: IncomingHttpHeaders): Era | undefined {
  if (headers['mcp-session-id'] !== undefined) return 'session';
  const version = headers['mcp-protocol-version'];
  return typeof version === 'string' && isStatelessVersion(version) ? 'stateless' : undefined;
}
