import type { TraceContext } from '../audit/index.js';
import { ERRORS, errorResponse } from './jsonrpc.js';
import { type RpcRequest, type RpcResponse } from '../mcp/index.js';
import { auditDenied, toolRefused, type GateInput, type GateSession } from './tool-gate.js';

/** The answer to a task nobody may see: what a child says of an id it never issued (tasks/cancel: see below). */
const UNKNOWN_TASK = 'Task not found';

/**
 * The gate for `tasks/get`, `tasks/result`, `tasks/update` and `tasks/cancel` (their entries in method-gates.ts
 * `METHOD_GATES`):
 * the answer to give instead of forwarding, or undefined to forward. A task is reachable only on the child that
 * created it for this person (tasks.ts, bound at the `tools/call` that created it): any other id — another person's,
 * one made on another server or another pooled child, an expired or a made-up one — is answered here, the same
 * bytes for all, without reaching the child, so that no answer tells a guessed id from an unknown one. That answer is
 * -32602 "Task not found" (MCP 2025-11-25 tasks: invalid or nonexistent taskId), except a 2026-07-28 `tasks/cancel`,
 * which SEP-2663 acknowledges with an empty result whatever the id. A `tasks/update` carries a later round of the
 * call that created the task (its input responses), so it passes the tool gate again (tool-gate.ts `toolRefused`),
 * like a 2026-07-28 retry: a tool the token or the current policy no longer allows is refused. Each refusal is one
 * `denied` line.
 * @see https://modelcontextprotocol.io/seps/2663-tasks-extension
 */
export function gateTask(
  gate: GateInput,
  session: GateSession,
  request: RpcRequest,
  trace: TraceContext,
): RpcResponse | undefined {
  const taskId = request.params?.['taskId'];
  const owned = typeof taskId === 'string' ? session.task?.(taskId) : undefined;
  if (!owned) {
    auditDenied(gate, request, trace, {
      ...(typeof taskId === 'string' ? { task: taskId.slice(0, 200) } : {}),
      error: 'no task of this person on this child',
    });
    if (request.method === 'tasks/cancel' && gate.era === 'stateless')
      return { jsonrpc: '2.0', id: request.id, result: { resultType: 'complete' } } as RpcResponse;
    return errorResponse(request.id, ERRORS.INVALID_PARAMS, UNKNOWN_TASK);
  }
  if (request.method === 'tasks/update') return toolRefused(gate, request, trace, owned.tool, session);
  return undefined;
}
