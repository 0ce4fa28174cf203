import type { IncomingHttpHeaders } from 'node:http';
import { argumentsDigest, auditLine, type AuditEvent, type TraceContext } from '../audit/index.js';
import type { ServerConfig } from '../config/index.js';
import { checkCall, isToolAllowed, toolRefusal, type RateLimiter } from '../policy/index.js';
import { ERRORS, errorResponse } from './jsonrpc.js';
import { type RpcId, type RpcRequest, type RpcResponse } from '../mcp/index.js';
import type { ResultFilter } from './pending.js';
import type { Admission } from './door.js';
import type { Person } from '../person.js';
import type { ToolHeaders } from './tool-headers.js';

/** What the gate needs of the daemon's state (the daemon's `DaemonState` has it). */
interface GateState {
  readonly audit: (event: AuditEvent) => void;
  readonly limiter: RateLimiter;
  readonly now: () => number;
  /** Each admission's resource filter (resource-gate.ts `resourceFilter`), kept with the loaded config. */
  readonly resourceFilters: WeakMap<Admission, (uri: unknown) => boolean>;
}

/** One tool filter per admission, kept with the loaded config (the daemon's `LoadedState`). */
export type ToolFilters = WeakMap<Admission, (tool: string) => boolean>;

/**
 * The tools a token may see and call: its scope, and the current policy's allow and deny (lib/policy). One function
 * per admission (the door keeps an admission per server config and token, lib/daemon/door.ts).
 */
export function toolFilter(admission: Admission, filters: ToolFilters): (tool: string) => boolean {
  let filter = filters.get(admission);
  if (!filter) filters.set(admission, (filter = (tool) => isToolAllowed(tool, admission.tools, admission.decision)));
  return filter;
}

/** What the gate reads of the target session (session.ts `Session`). */
export interface GateSession {
  readonly era: 'session' | 'stateless';
  /** The child's id of this client's request still pending there. */
  childIdOf(clientId: unknown): number | undefined;
  /** Whether the child waits for an answer under `id`; true once per request. */
  takeAsked(id: RpcId): boolean;
  /** Why the server's pins refuse a call of `tool` on this child (gatekit.lock), or undefined. */
  pinRefusal?(tool: string): string | undefined;
  /** Why the pins refuse every gated request of this child (on_tool_change = "deny_server"), or undefined. */
  readonly taint?: string | undefined;
  /** A task this child created for this session's person (lib/daemon/tasks.ts); none without it. */
  task?(taskId: string): { readonly tool: string | undefined } | undefined;
  /** A pooled child's SEP-2243 header declarations (tool-headers.ts). */
  readonly toolHeaders?: Pick<ToolHeaders, 'mismatch'>;
}

/** Where a gated call is: who, which session and era, its trace. */
export interface GateInput {
  readonly state: GateState;
  readonly server: ServerConfig;
  readonly caller: Person;
  readonly authTime: number | undefined;
  readonly mayCall: (tool: string) => boolean;
  /** What `mayCall` was made from: a refusal names the rule that refused (lib/policy `toolRefusal`). */
  readonly admission: Admission;
  readonly session: string;
  readonly era: string;
  /** The request's HTTP headers where the gate checks them against the body (2026-07-28: `Mcp-Param-*`). */
  readonly headers?: IncomingHttpHeaders;
}

/**
 * The gate for one tools/call: the JSON-RPC error to answer with, or undefined to forward it. First the tool
 * allow-list (`mayCall`), then `[[servers.NAME.rule]]`. A refused call never reaches the child; the refusal is
 * audited as `denied` (naming the rule, if one refused), with the arguments' digest and never the arguments.
 *
 * A stale login is answered like RFC 9470's step-up challenge, in-band: code -32003 with
 * `data.error = "insufficient_user_authentication"` and `data.max_age`, so `gatekit connect` can
 * log the person in again and the client can retry on the same session.
 */
export function gateToolCall(
  gate: GateInput,
  request: RpcRequest,
  trace: TraceContext,
  pins?: { pinRefusal?(tool: string): string | undefined },
): RpcResponse | undefined {
  const { server, caller } = gate;
  const tool = request.params?.['name'];
  const refused = toolRefused(gate, request, trace, tool, pins);
  if (refused || typeof tool !== 'string') return refused;
  if (server.rules.length === 0) return undefined;
  const verdict = checkCall(
    server,
    {
      user: caller.user,
      sub: caller.sub,
      groups: caller.groups,
      tool,
      args: request.params?.['arguments'],
      auth_time: gate.authTime,
      now: gate.state.now() / 1000,
    },
    gate.state.limiter,
  );
  if (verdict.allowed) return undefined;
  const message = `${verdict.rule}: ${verdict.reason}`;
  deny(gate, request, trace, tool, message, verdict.rule);
  if (verdict.kind === 'rate') {
    return errorResponse(request.id, ERRORS.RATE_LIMITED, message, {
      rule: verdict.rule,
      retry_after: verdict.retry_after,
    });
  }
  if (verdict.kind === 'fresh_login') {
    return errorResponse(request.id, ERRORS.DENIED, message, {
      rule: verdict.rule,
      error: 'insufficient_user_authentication',
      max_age: verdict.max_age,
    });
  }
  return errorResponse(request.id, ERRORS.DENIED, message, { rule: verdict.rule });
}

/**
 * The tool gate's first half, for a call or a later round of one (a task's `tasks/update`, lib/daemon/tasks-gate.ts):
 * `tool` allowed by the token's scope and the current policy (`mayCall`), then as the child last listed it the pinned
 * one. The JSON-RPC error to answer `request` with (audited as `denied`), or undefined.
 */
export function toolRefused(
  gate: GateInput,
  request: RpcRequest,
  trace: TraceContext,
  tool: unknown,
  pins?: { pinRefusal?(tool: string): string | undefined },
): RpcResponse | undefined {
  const { server } = gate;
  if (typeof tool !== 'string' || !gate.mayCall(tool)) {
    const { admission } = gate;
    const refused = (typeof tool === 'string' && toolRefusal(tool, admission.tools, admission.decision, server)) || {
      rule: `servers.${server.name}.tools.allow`,
      reason: typeof tool === 'string' ? `tool ${JSON.stringify(tool.slice(0, 100))} is not allowed` : 'no tool name',
    };
    const why = `${refused.rule}: ${refused.reason}`;
    deny(gate, request, trace, typeof tool === 'string' ? tool : undefined, why, refused.rule);
    return errorResponse(request.id, ERRORS.DENIED, why, { rule: refused.rule });
  }
  // The tool as the child last listed it must be the pinned one (gatekit.lock, lib/daemon/pin-watch.ts).
  const unpinned = pins?.pinRefusal?.(tool);
  if (unpinned === undefined) return undefined;
  const rule = `servers.${server.name}.pins`;
  deny(gate, request, trace, tool, `${rule}: ${unpinned}`, rule);
  return errorResponse(request.id, ERRORS.DENIED, `${rule}: ${unpinned}`, { rule });
}

function deny(
  gate: GateInput,
  request: RpcRequest,
  trace: TraceContext,
  tool: string | undefined,
  error: string,
  rule?: string,
) {
  const line = auditLine.denied(gate.server.name, gate.caller, {
    era: gate.era,
    args_digest: argumentsDigest(request.params?.['arguments']),
    trace_id: trace.trace_id,
    span_id: trace.span_id,
    parent_span_id: trace.parent_span_id,
    session: gate.session,
    method: request.method,
    tool: tool?.slice(0, 200),
    rpc_id: request.id,
    error,
    ...(rule === undefined ? {} : { rule }),
  });
  gate.state.audit(line);
}

/**
 * One `denied` line for a request a method's own gate refused (tasks, resources, prompts, a tainted child's): who,
 * which request, its trace, and `fields` (what was asked for, why, the rule), never the arguments.
 */
export function auditDenied(
  gate: GateInput,
  request: RpcRequest,
  trace: TraceContext | undefined,
  fields: Partial<AuditEvent>,
): void {
  gate.state.audit(
    auditLine.denied(gate.server.name, gate.caller, {
      era: gate.era,
      session: gate.session,
      method: request.method,
      rpc_id: request.id,
      ...(trace?.trace_id
        ? { trace_id: trace.trace_id, span_id: trace.span_id, parent_span_id: trace.parent_span_id }
        : {}),
      ...fields,
    }),
  );
}

/** What a tools/list answer shows: only the tools `allowed` (the same test as the tools/call gate). */
export function toolListFilter(allowed: (name: string) => boolean): ResultFilter {
  return (result) => filterToolList(result, allowed).result ?? result;
}

/** A tools/list result with only the tools the person may call (the same test as the tools/call gate). */
function filterToolList(result: unknown, allowed: (name: string) => boolean): { result?: unknown } {
  const tools = (result as { tools?: Array<{ name?: unknown }> } | undefined)?.tools;
  if (!Array.isArray(tools)) return {};
  return {
    result: { ...(result as object), tools: tools.filter((t) => typeof t.name === 'string' && allowed(t.name)) },
  };
}
