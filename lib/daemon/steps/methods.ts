import { auditLine, type TraceContext } from '../../audit/index.js';
import { discover, type Era, type PooledChild } from '../era/index.js';
import type { Exchange } from '../exchange.js';
import type { Admitted } from '../gate.js';
import type { RpcRequest } from '../../mcp/index.js';
import type { Session } from '../session.js';
import type { ResultFilter } from '../pending.js';
import { unusableCapabilities } from '../resource-gate.js';
import type { RequestContext } from '../state.js';
import type { GateInput } from '../tool-gate.js';
import { forwardStateless, listen } from './stateless.js';

/** Where a POST's requests go: a session's child, or (2026-07-28) the person's pooled child and its session. */
export interface Target {
  readonly session: Session;
  readonly pooled: PooledChild | undefined;
}

/** One request the gate admitted (lib/daemon/gate.ts `admitMessage`), on its way to an answer. */
interface Call {
  readonly ctx: RequestContext;
  readonly target: Target;
  readonly request: Admitted<RpcRequest>;
  /** What of the child's answer the person may see (the gate's, lib/daemon/method-gates.ts `results`). */
  readonly results: ResultFilter | undefined;
  /** What the gate was given: who, the tools they may call, the era. */
  readonly gate: GateInput;
  readonly trace: TraceContext;
  /** The POST's one answer (JSON or SSE), made on first use; a call that answers on its own stream never asks. */
  readonly exchange: () => Exchange;
}

/**
 * How the daemon answers an admitted request of one method, in one era (both unless `era` says).
 * `answer` owns the request from here: it answers through `call.exchange()` or, for a standing stream, `ctx.res`.
 */
export interface MethodRoute {
  readonly era?: Era;
  readonly answer: (call: Call) => void | Promise<void>;
}

/**
 * The methods the daemon does not simply forward, by name. Every other method takes the one default path
 * (`forwardCall`): gated (lib/daemon/gate.ts, the same for every method), then forwarded to the target's child.
 *
 * To add a method the daemon answers or routes itself: one entry here (its `answer`, and `era` when it exists
 * only there) and a test through a real daemon (test/daemon-*.test.ts). What a person may do with a method is
 * the gate's, not this table's: a method that needs its own check or hides part of its result gets an entry in
 * lib/daemon/method-gates.ts `METHOD_GATES`, and its refusal never reaches this table. A name that is no method MCP
 * defines for a client fails test/gate-total.test.ts.
 */
export const ROUTES: ReadonlyMap<string, MethodRoute> = new Map<string, MethodRoute>([
  // 2026-07-28: answered by the daemon from the pooled child's discover or initialize result (era/pool.ts).
  ['server/discover', { era: 'stateless', answer: answerDiscover }],
  // 2026-07-28: the pooled child's change notifications as a standing SSE stream (steps/stateless.ts).
  ['subscriptions/listen', { era: 'stateless', answer: (call) => listen(call.ctx, call.target.pooled!, call.request) }],
]);

/** The route for an admitted request: its method's entry for this era, else the default forward. */
export function routeOf(method: string, era: Era): MethodRoute['answer'] {
  const route = ROUTES.get(method);
  return route && (route.era === undefined || route.era === era) ? route.answer : forwardCall;
}

/**
 * The default: to the target's child. A session-era child pooled for a 2026-07-28 client goes through the
 * multi round-trip translation (steps/stateless.ts); any other child gets the request as it is (session.ts).
 */
function forwardCall(call: Call): void {
  const { ctx, target, request, results, gate, trace } = call;
  const { session, pooled } = target;
  if (pooled && session.child.era !== 'native') forwardStateless(ctx, pooled, request, call.exchange(), results, trace);
  else session.forward(request, call.exchange(), gate.caller, results, trace);
}

function answerDiscover(call: Call): Promise<void> {
  const { ctx, request, gate } = call;
  const exchange = call.exchange();
  return discover(call.target.pooled!, gate.caller, gate.mayCall, unusableCapabilities(gate)).then((result) => {
    exchange.respond({ jsonrpc: '2.0', id: request.id, result });
    ctx.state.audit(
      auditLine.request(ctx.server.name, gate.caller, {
        era: ctx.era,
        method: 'server/discover',
        rpc_id: request.id,
        outcome: 'ok',
      }),
    );
  });
}
