import { auditLine } from '../../audit/index.js';
import { GatekitError } from '../../errors.js';
import { resourceFilter } from '../resource-gate.js';
import type { Session } from '../session.js';
import { SSE_HEADERS } from '../sse.js';
import type { RequestContext } from '../state.js';

/** The session the `Mcp-Session-Id` header names: NOT_FOUND if unknown or ended, FORBIDDEN if another `sub`'s. */
export function findSession(ctx: RequestContext): Session | undefined {
  const id = ctx.req.headers['mcp-session-id'];
  if (typeof id !== 'string') return undefined;
  const session = ctx.state.sessions.get(id);
  if (!session || session.ended || session.era !== 'session' || session.server.name !== ctx.server.name)
    throw new GatekitError('NOT_FOUND', 'unknown or ended session; start a new one with initialize');
  if (session.owner.sub !== ctx.caller!.sub)
    throw new GatekitError('FORBIDDEN', 'this session belongs to another identity');
  return session;
}

/** GET /mcp: the session's one stream for server-initiated messages (MCP Streamable HTTP, "listening"). */
export function openStream(ctx: RequestContext, session: Session | undefined): void {
  if (!session) throw new GatekitError('BAD_REQUEST', 'GET /mcp needs an Mcp-Session-Id');
  if (!String(ctx.req.headers.accept ?? '').includes('text/event-stream'))
    throw new GatekitError('NOT_ACCEPTABLE', 'GET /mcp must accept text/event-stream');
  if (session.hasStream) throw new GatekitError('CONFLICT', 'this session already has a GET stream open');
  ctx.res.writeHead(200, SSE_HEADERS);
  ctx.res.flushHeaders();
  session.readable = resourceFilter(ctx.verified!, ctx.server, ctx.state.resourceFilters);
  session.openStream(ctx.res);
  const { res } = ctx;
  const claims = ctx.verified!.claims;
  ctx.state.streams.watch({
    res,
    server: ctx.server.name,
    claims,
    who: ctx.caller!,
    method: 'GET',
    session: session.id,
    close: () => res.end(),
  });
  ctx.state.audit(
    auditLine.request(ctx.server.name, ctx.caller, { method: 'GET', outcome: 'ok', session: session.id }),
  );
}

/** DELETE /mcp: the client ends its session (MCP Streamable HTTP, "session management"). */
export async function endSession(ctx: RequestContext, session: Session | undefined): Promise<void> {
  if (!session) throw new GatekitError('BAD_REQUEST', 'DELETE /mcp needs an Mcp-Session-Id');
  await session.end('closed by the client');
  ctx.res.writeHead(204).end();
}
