import { auditLine, nextTrace, parseTraceparent } from '../../audit/index.js';
import { GatekitError } from '../../errors.js';
import { childCapabilities, learnToolList, statelessAnswer, statelessStatus } from '../era/index.js';
import { Exchange } from '../exchange.js';
import { admitMessage, type Admitted } from '../gate.js';
import { METHOD_GATES } from '../method-gates.js';
import type { ServerConfig } from '../../config/index.js';
import { sendJson } from '../../http/index.js';
import { isRequest, type RpcMessage, type RpcRequest } from '../../mcp/index.js';
import type { Session } from '../session.js';
import type { RequestContext } from '../state.js';
import { resourceFilter } from '../resource-gate.js';
import { toolFilter, type GateInput } from '../tool-gate.js';
import type { Body } from './body.js';
import { routeOf, type Target } from './methods.js';

/**
 * A 2026-07-28 request: the person's pooled child (lib/daemon/era/pool.ts); LIMIT_EXCEEDED at a bound. Before a
 * `tools/call`, the child's tool list is known (its `x-mcp-header` declarations, tool-headers.ts, which the gate
 * checks the call's `Mcp-Param-*` headers by).
 */
async function pooledTarget(ctx: RequestContext, body: Body): Promise<Target> {
  const { state } = ctx;
  const call = body.messages[0]!;
  const capabilities = childCapabilities(call);
  const pooled = await state.pool.acquire(ctx.server, ctx.caller!, state.config.daemon.limits, capabilities);
  const { toolHeaders, pins } = pooled.session;
  if ((isToolCall(call) && !toolHeaders.known) || (pins.needsList && judgedByPins(call, ctx.server)))
    await learnToolList(pooled, ctx.caller!);
  return { session: pooled.session, pooled };
}

const isToolCall = (m: RpcMessage): boolean => isRequest(m) && m.method === 'tools/call';
/** A request the pins judge by the child's tool list: a call; with "deny_server", everything the child serves. */
const judgedByPins = (m: RpcMessage, server: ServerConfig): boolean =>
  isToolCall(m) ||
  (server.on_tool_change === 'deny_server' && isRequest(m) && METHOD_GATES.get(m.method)?.servedByChild === true);

/** Session era: `initialize` opens a session (LIMIT_EXCEEDED at a bound), anything else needs the header's. */
function sessionTarget(ctx: RequestContext, body: Body, existing: Session | undefined): Target {
  const { state } = ctx;
  if (body.messages.some((m) => isRequest(m) && m.method === 'initialize')) {
    if (existing || body.messages.length > 1)
      throw new GatekitError('BAD_REQUEST', 'initialize must be sent alone, without an Mcp-Session-Id');
    const { user, sub, groups } = ctx.caller!;
    const session = state.sessions.open(ctx.server, { user, sub, groups }, state.config.daemon.limits);
    return { session, pooled: undefined };
  }
  if (!existing) throw new GatekitError('BAD_REQUEST', 'Bad Request: no Mcp-Session-Id; send initialize first');
  return { session: existing, pooled: undefined };
}

/**
 * The last steps of a POST: the target child, then every message through the one gate (lib/daemon/gate.ts
 * `admitMessage`): notifications and client responses it admits to the child (one refused: 400, nothing delivered),
 * each request it admits on by its method's route (steps/methods.ts: the child by default, session.ts), its answer
 * as JSON or SSE (exchange.ts). Only a limit (429),
 * a malformed initialize or a refused notification/response is refused as HTTP; a gated request is a JSON-RPC error.
 */
export function forwardMessages(ctx: RequestContext, body: Body, existing: Session | undefined): void | Promise<void> {
  // Synchronous in the session era, as the hot path was before the steps: no await per tools/call.
  if (ctx.era === 'stateless') return pooledTarget(ctx, body).then((target) => forwardTo(ctx, body, target));
  const target = sessionTarget(ctx, body, existing);
  // Pins judge a call by the child's own tool list: one the daemon has not seen is listed first (pin-watch.ts).
  if (target.session.pins.needsList && body.messages.some((m) => judgedByPins(m, ctx.server)))
    return learnToolList(target, ctx.caller!).then(() => forwardTo(ctx, body, target));
  return forwardTo(ctx, body, target);
}

function forwardTo(ctx: RequestContext, body: Body, target: Target): void | Promise<void> {
  const { session, pooled } = target;
  const { state, server, req, res } = ctx;
  const caller = ctx.caller!;
  const era = ctx.era!;
  const headers: Record<string, string> = pooled ? {} : { 'mcp-session-id': session.id };
  const mayCall = toolFilter(ctx.verified!, state.toolFilters);
  session.readable = resourceFilter(ctx.verified!, server, state.resourceFilters);
  const gate: GateInput = {
    state,
    server,
    caller,
    authTime: ctx.verified!.claims.auth_time,
    mayCall,
    admission: ctx.verified!,
    session: session.id,
    era,
    // 2026-07-28 carries headers the gate checks against the body (SEP-2243 Mcp-Param-*).
    ...(pooled ? { headers: req.headers } : {}),
  };
  // Notifications and responses first, every one judged before any is delivered: one refused, the POST is refused.
  const requests: RpcRequest[] = [];
  const delivered: Admitted[] = [];
  for (const m of body.messages as RpcMessage[]) {
    if (isRequest(m)) {
      requests.push(m);
      continue;
    }
    const verdict = admitMessage(gate, session, m);
    if (verdict.kind === 'refuse') return sendJson(res, 400, verdict.response, headers);
    if (verdict.kind === 'deliver') delivered.push(verdict.message);
  }
  for (const m of body.messages as RpcMessage[]) {
    if (isRequest(m)) continue;
    const method = 'method' in m ? m.method : 'response';
    const rpc_id = 'id' in m ? m.id : undefined;
    state.audit(auditLine.request(server.name, caller, { era, method, rpc_id, outcome: 'ok', session: session.id }));
  }
  for (const m of delivered) session.deliver(m);
  if (requests.length === 0) {
    res.writeHead(202, headers).end();
    return;
  }
  const headerTrace = req.headers['traceparent'];
  const admitted = requests.map((request) => {
    const metaTrace = (request.params?.['_meta'] as { traceparent?: unknown } | undefined)?.traceparent;
    const trace = nextTrace(parseTraceparent(metaTrace) ? metaTrace : headerTrace);
    return { trace, verdict: admitMessage(gate, session, request, trace) };
  });
  const first = admitted[0]!.verdict;
  const method = requests[0]!.method;
  // A refusal with a status of its own (a 2026-07-28 header mismatch) is the answer to the whole POST.
  if (first.kind === 'refuse' && first.status !== undefined)
    return sendJson(res, first.status, first.response, headers);
  const exchange = lazyExchange(ctx, body, target, requests.length, method);
  let answering: Promise<void>[] | undefined;
  for (const { trace, verdict } of admitted) {
    if (verdict.kind === 'refuse') {
      exchange().respond(verdict.response);
      if (method === 'initialize') void session.end('initialize refused');
      continue;
    }
    if (verdict.kind !== 'forward') continue;
    const { message: request, results } = verdict;
    const answered = routeOf(request.method, era)({ ctx, target, request, results, gate, trace, exchange });
    if (answered) (answering ??= []).push(answered);
  }
  if (answering) return Promise.all(answering).then(() => undefined);
}

/**
 * The POST's one answer, made when a call first needs it: JSON, or SSE once something must be said before the
 * answers (exchange.ts). A native 2026-07-28 child shapes its own results; a session-era one's get it in
 * era/mrtr.ts. At 2026-07-28 an error keeps the HTTP status the spec names for its code (lib/mcp `errorHttpStatus`).
 */
function lazyExchange(
  ctx: RequestContext,
  body: Body,
  { session, pooled }: Target,
  requests: number,
  method: string,
): () => Exchange {
  let exchange: Exchange | undefined;
  return () => {
    if (exchange) return exchange;
    const native = pooled?.session.child.era === 'native';
    const made = new Exchange(ctx.res, {
      requests,
      batch: body.batch,
      acceptsStream: String(ctx.req.headers.accept ?? '').includes('text/event-stream'),
      headers: pooled ? {} : { 'mcp-session-id': session.id },
      translate: native ? statelessAnswer(method) : undefined,
      statusOf: pooled ? statelessStatus(method) : undefined,
    });
    // A client that closes the POST before its answers cancels what is still pending at the child. Not
    // `exchange.open`: that is already false once the closed response is destroyed. A call parked for input
    // (era/mrtr.ts) was answered.
    ctx.res.on('close', () => {
      if (!made.answered) session.abandon(ctx.state.waiting.sinkOf(made));
    });
    return (exchange = made);
  };
}
