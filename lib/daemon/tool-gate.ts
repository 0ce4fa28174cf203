import type { ServerConfig } from '../config/index.js';
import type { AuditEvent } from '../audit/index.js';
import { checkCall, type RateLimiter } from '../policy/index.js';
import type { Authenticated } from './auth.js';
import { ERRORS, errorResponse, type RpcRequest, type RpcResponse } from './jsonrpc.js';
import type { Caller } from './session.js';

/** What the gate needs of the daemon's state (the daemon's `DaemonState` has it). */
interface GateState {
  readonly audit: (event: AuditEvent) => void;
  readonly limiter: RateLimiter;
  readonly now: () => number;
}

/**
 * `[[servers.NAME.rule]]` for one tools/call the tool allow-list already let through: the JSON-RPC
 * error to answer with, or undefined to forward it. A refused call never reaches the child; the
 * refusal names the rule and is audited as `denied`, without the arguments.
 *
 * A stale login is answered like RFC 9470's step-up challenge, in-band: code -32003 with
 * `data.error = "insufficient_user_authentication"` and `data.max_age`, so `gatekit connect` can
 * log the person in again and the client can retry on the same session.
 */
export function gateToolCall(
  state: GateState,
  server: ServerConfig,
  auth: Authenticated,
  caller: Caller,
  request: RpcRequest,
  session: string,
  /** What every tools/call audit line carries: era, args_digest, trace fields. */
  fields: Readonly<Record<string, unknown>> = {},
): RpcResponse | undefined {
  if (server.rules.length === 0) return undefined;
  const tool = request.params?.['name'] as string;
  const verdict = checkCall(
    server,
    {
      user: caller.user,
      sub: caller.sub,
      groups: caller.groups,
      tool,
      args: request.params?.['arguments'],
      auth_time: auth.claims.auth_time,
      now: state.now() / 1000,
    },
    state.limiter,
  );
  if (verdict.allowed) return undefined;
  const message = `${verdict.rule}: ${verdict.reason}`;
  state.audit({
    ...fields,
    event: 'denied',
    server: server.name,
    user: caller.user,
    sub: caller.sub,
    jti: caller.jti,
    session,
    method: request.method,
    tool: tool.slice(0, 200),
    rpc_id: request.id,
    outcome: 'denied',
    rule: verdict.rule,
    error: message,
  });
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
