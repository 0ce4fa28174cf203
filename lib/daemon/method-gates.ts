import { auditLine, type TraceContext } from '../audit/index.js';
import { HEADER_MISMATCH, type RpcRequest, type RpcResponse } from '../mcp/index.js';
import { ERRORS, errorResponse } from './jsonrpc.js';
import type { ResultFilter } from './pending.js';
import {
  admitCompletion,
  admitListen,
  admitPrompt,
  admitResource,
  initializeFilter,
  promptListFilter,
  resourceListFilter,
  templateListFilter,
} from './resource-gate.js';
import { gateTask } from './tasks-gate.js';
import { auditDenied, gateToolCall, toolListFilter, type GateInput, type GateSession } from './tool-gate.js';

/** A request a method's own gate refused, already audited: answered in-band, or with `status` for the whole POST. */
interface Refusal {
  readonly response: RpcResponse;
  readonly status?: number;
}

/**
 * What one method asks of the gate beyond the checks every request passes (lib/daemon/gate.ts `admitMessage`):
 * - `admit`: whether this person may send this request; a refusal is audited here (`denied`, naming the rule) and
 *   never reaches the child;
 * - `results`: what of the child's answer this person may see (session.ts applies it to the result).
 */
export interface MethodGate {
  readonly admit?: (
    gate: GateInput,
    request: RpcRequest,
    session: GateSession,
    trace: TraceContext | undefined,
  ) => Refusal | undefined;
  readonly results?: (gate: GateInput) => ResultFilter | undefined;
  /** A request the child serves: refused once its pins taint it (on_tool_change = "deny_server", pin-watch.ts). */
  readonly servedByChild?: true;
}

/**
 * The methods gated by what the person may do, by name; every other method MCP defines for a client (and every
 * extension) passes on the common checks alone. A new gated method is one entry here and a test through a real
 * daemon that fails without it (a refused request, a hidden part of a result). How an admitted request is
 * answered is lib/daemon/steps/methods.ts's. A name that is no method MCP defines for a client (a typo would gate
 * nothing) fails test/gate-total.test.ts.
 */
export const METHOD_GATES: ReadonlyMap<string, MethodGate> = new Map<string, MethodGate>([
  // A tools/call meets the pins in the tool gate (tool-gate.ts `toolRefused`), a tainted child's too.
  // A session's capabilities without resources or prompts the person may use none of (2026-07-28: server/discover).
  ['initialize', { results: initializeFilter }],
  ['tools/call', { admit: admitToolCall, servedByChild: true }],
  // The same test as a call: a tool the person may not call is not listed (tool-gate.ts `toolFilter`).
  ['tools/list', { results: (gate) => toolListFilter(gate.mayCall) }],
  // Resources and prompts, the same shape (resource-gate.ts); each a no-op for a server whose config names none.
  // A tainted child's lists are still answered: its tools as the pins show them, its resources and prompts named but
  // refused when used.
  ['resources/read', untainted(admitResource)],
  ['resources/subscribe', untainted(admitResource)],
  ['resources/list', { results: resourceListFilter }],
  ['resources/templates/list', { results: templateListFilter }],
  ['prompts/get', untainted(admitPrompt)],
  ['prompts/list', { results: promptListFilter }],
  ['completion/complete', untainted(admitCompletion)],
  ['subscriptions/listen', untainted(admitListen)],
  // A task only on the child that created it for this person; an update through the tool gate again (tasks-gate.ts).
  // A tasks/list answer keeps that child's own tasks (session.ts, from its TaskLedger); a cancellation of a tainted
  // child's task still reaches it (it stops work, it serves nothing).
  ['tasks/get', untainted(admitTask)],
  ['tasks/result', untainted(admitTask)],
  ['tasks/update', untainted(admitTask)],
  ['tasks/cancel', { admit: admitTask }],
]);

const NO_TRACE: TraceContext = { traceparent: '', trace_id: '', span_id: '' };

/** The tool gate (tool-gate.ts), then SEP-2243's `Mcp-Param-*` headers of a 2026-07-28 call. */
function admitToolCall(
  gate: GateInput,
  request: RpcRequest,
  session: GateSession,
  trace: TraceContext | undefined,
): Refusal | undefined {
  const refused = gateToolCall(gate, request, trace ?? NO_TRACE, session);
  if (refused) return { response: refused };
  // Only for a tool the person may call (its schema is theirs to see) and one that declares headers.
  const mismatch = gate.headers && session.toolHeaders?.mismatch(request.params, gate.headers);
  if (mismatch) return headerRefusal(gate, request, trace, `Bad Request: ${mismatch}`);
  return undefined;
}

function admitTask(
  gate: GateInput,
  request: RpcRequest,
  session: GateSession,
  trace: TraceContext | undefined,
): Refusal | undefined {
  const answer = gateTask(gate, session, request, trace ?? NO_TRACE);
  return answer ? { response: answer } : undefined;
}

/**
 * A method's own gate, then the child's pins: once a tool of a server with on_tool_change = "deny_server" changed
 * (pin-watch.ts `taint`), the rug-pulled child serves nothing more, -32003 naming `servers.NAME.pins`.
 */
function untainted(admit: NonNullable<MethodGate['admit']>): MethodGate {
  return {
    servedByChild: true,
    admit: (gate, request, session, trace) => {
      const refused = admit(gate, request, session, trace);
      if (refused || session.taint === undefined) return refused;
      const rule = `servers.${gate.server.name}.pins`;
      const why = `${rule}: ${session.taint}`;
      auditDenied(gate, request, trace, { error: why, rule });
      return { response: errorResponse(request.id, ERRORS.DENIED, why, { rule }) };
    },
  };
}

/** A 2026-07-28 request whose headers disagree with its body: 400 / -32020, audited as an error, not a denial. */
function headerRefusal(gate: GateInput, request: RpcRequest, trace: TraceContext | undefined, why: string): Refusal {
  gate.state.audit(
    auditLine.request(gate.server.name, gate.caller, {
      era: gate.era,
      session: gate.session,
      method: request.method,
      rpc_id: request.id,
      ...(trace ? { trace_id: trace.trace_id, span_id: trace.span_id, parent_span_id: trace.parent_span_id } : {}),
      rpc_code: HEADER_MISMATCH,
      outcome: 'error',
      error: why,
    }),
  );
  return { response: errorResponse(request.id, HEADER_MISMATCH, why), status: 400 };
}
