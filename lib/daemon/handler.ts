import type { RequestListener } from 'node:http';
import type { ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { authenticate } from './auth.js';
import type { DaemonState, RequestContext } from './state.js';
import { readMessages } from './steps/body.js';
import { enterDoor } from './steps/door.js';
import { sendJson } from '../http/index.js';
import { failInternally, refuse, refuseUnavailable } from './steps/edge.js';
import { answerRoute, checkHostAndOrigin, eraFromHeaders } from './steps/entry.js';
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
      atDoor: false,
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
  ctx.atDoor = true;
  const verified = authenticate(req, ctx.state, ctx.server);
  // A known token is let in synchronously (verify-request.ts): no await on the hot path.
  enterDoor(ctx, verified instanceof Promise ? await verified : verified);
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
