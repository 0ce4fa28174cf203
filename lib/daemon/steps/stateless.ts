import { auditLine, type TraceContext } from '../../audit/index.js';
import { attachListeners, openListen, statelessRound, type PooledChild } from '../era/index.js';
import type { Exchange } from '../exchange.js';
import type { Admitted } from '../gate.js';
import { errorResponse } from '../jsonrpc.js';
import { type RpcRequest } from '../../mcp/index.js';
import { writeSseMessage } from '../sse.js';
import type { ResultFilter } from '../pending.js';
import type { RequestContext } from '../state.js';

/** `subscriptions/listen` (MCP 2026-07-28): the person's pooled child's change notifications as an SSE stream. */
export async function listen(ctx: RequestContext, pooled: PooledChild, request: Admitted<RpcRequest>): Promise<void> {
  const { res } = ctx;
  const acceptsStream = String(ctx.req.headers.accept ?? '').includes('text/event-stream');
  // A standing answer: it ends with the child, so a drain on SIGTERM does not wait for it.
  ctx.state.standing.add(res);
  const error = await openListen(pooled, ctx.caller!, request, res, acceptsStream);
  const fields = { era: ctx.era, method: 'subscriptions/listen', rpc_id: request.id, error } as const;
  ctx.state.audit(auditLine.request(ctx.server.name, ctx.caller, { ...fields, outcome: error ? 'error' : 'ok' }));
  if (error !== undefined) return;
  // Held to its token (lib/daemon/streams.ts): at its end the listen request is answered with the reason.
  ctx.state.streams.watch({
    res,
    server: ctx.server.name,
    claims: ctx.verified!.claims,
    who: ctx.caller!,
    method: 'subscriptions/listen',
    era: ctx.era,
    close: (why) => {
      writeSseMessage(res, errorResponse(request.id, why.rpcCode, why.message));
      res.end();
    },
  });
}

/**
 * One 2026-07-28 request to a session-era pooled child: a server request the child sends while serving it becomes
 * an `input_required` round (lib/daemon/era/mrtr.ts); a retry resumes the call its `requestState` names.
 */
export function forwardStateless(
  ctx: RequestContext,
  pooled: PooledChild,
  request: Admitted<RpcRequest>,
  exchange: Exchange,
  results: ResultFilter | undefined,
  trace: TraceContext,
): void {
  const caller = ctx.caller!;
  attachListeners(pooled.session);
  const refused = statelessRound(
    pooled.session,
    request,
    exchange,
    caller,
    (r, sink) => pooled.session.forward(r, sink, caller, results, trace),
    ctx.state.waiting,
  );
  if (!refused) return;
  exchange.respond(errorResponse(request.id, refused.code, refused.message));
  const fields = { era: ctx.era, method: request.method, rpc_id: request.id, error: refused.message } as const;
  ctx.state.audit(
    refused.denied
      ? auditLine.denied(ctx.server.name, caller, fields)
      : auditLine.request(ctx.server.name, caller, { ...fields, outcome: 'error' }),
  );
}
