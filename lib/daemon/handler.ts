import type { RequestListener } from 'node:http';
import type { ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { enterDoor } from './door.js';
import type { DaemonState, RequestContext } from './state.js';
import { readMessages } from './steps/body.js';
import { sendJson } from '../http/index.js';
import { failInternally, refuse, refuseAtDoor, refuseUnavailable } from './steps/edge.js';
import { answerRoute, checkHostAndOrigin, checkVersionHeader, eraFromHeaders } from './steps/entry.js';
import { forwardMessages } from './steps/forward.js';
import { endSession, findSession, openStream } from './steps/session.js';

export type { DaemonState } from './state.js';

/**
 * The HTTP side of one server's listener: /mcp (Streamable HTTP), RFC 9728 metadata, /healthz. The request goes
 * through the steps in `pipeline`; whatever a step throws goes to the one error edge (steps/edge.ts).
 */
export function mcpHandler(name: string, state: () => DaemonState): RequestListener {
  return (req, res) => {
    const current = state();
    if (refuseUnavailable(current, name, res)) return;
    const ctx: RequestContext = {
      state: current,
      req,
      res,
      server: current.config.servers.get(name) as ServerConfig,
      verified: undefined,
      caller: undefined,
      era: eraFromHeaders(req.headers),
    };
    pipeline(ctx).catch((err: unknown) => {
      try {
        refuse(ctx, err);
      } catch (bug) {
        failInternally(ctx, bug);
      }
    });
  };
}

/**
 * host/origin → route → door → session → method → body (era) → gate → forward; docs/architecture.md lists
 * what each step checks and the error code it refuses with.
 */
async function pipeline(ctx: RequestContext): Promise<void> {
  const { req, res } = ctx;
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz' && req.method === 'GET') return sendJson(res, 200, { status: 'ok', server: ctx.server.name });
  checkHostAndOrigin(ctx);
  if (answerRoute(ctx, path!)) return;
  try {
    const entering = enterDoor(req, ctx.state, ctx.server);
    // A known token is let in synchronously (door.ts): no await on the hot path.
    ctx.verified = entering instanceof Promise ? await entering : entering;
  } catch (err) {
    return refuseAtDoor(ctx, err);
  }
  ctx.caller = ctx.verified.person;
  checkVersionHeader(ctx);
  const session = findSession(ctx);
  switch (req.method) {
    case 'POST':
      return forwardMessages(ctx, await readMessages(ctx), session);
    case 'GET':
      return openStream(ctx, session);
    case 'DELETE':
      return endSession(ctx, session);
  }
  res.setHeader('allow', 'GET, POST, DELETE');
  throw new GatekitError('METHOD_NOT_ALLOWED', `method ${req.method} not allowed`);
}
