import { auditLine, type TraceContext } from '../audit/index.js';
import {
  CLIENT_NOTIFICATIONS,
  CLIENT_REQUESTS,
  isExtensionMethod,
  METHOD_NOT_FOUND,
  isRequest,
  nestsDeeper,
  type RpcId,
  type RpcMessage,
  type RpcNotification,
  type RpcRequest,
  type RpcResponse,
} from '../mcp/index.js';
import { ERRORS, errorResponse } from './jsonrpc.js';
import { METHOD_GATES } from './method-gates.js';
import type { ResultFilter } from './pending.js';
import type { GateInput, GateSession } from './tool-gate.js';
import type { Person } from '../person.js';

export type { GateSession } from './tool-gate.js';

declare const ADMITTED: unique symbol;
/**
 * A message the gate let through to a child. `McpChild.send` takes nothing else, and only this module makes one
 * (test/gate-total.test.ts fails if another module casts to it): every byte bound for a child passed the gate.
 */
export type Admitted<T extends RpcMessage = RpcMessage> = T & { readonly [ADMITTED]: true };

/** How deep a client's `params` (or a response's `result`) may nest; deeper is refused before anything walks it. */
const MAX_JSON_DEPTH = 64;

/**
 * The gate's answer for one client message. `forward`: a request, to the child (with `results`, what of its answer
 * the person may see); `deliver`: a notification or a
 * response, to the child; `drop`: taken, but nothing for the child (a cancellation of nothing pending); `refuse`:
 * audited as `denied`, answered in-band for a request (`http` false) or as HTTP 400 for anything else; a request
 * refused with a `status` of its own (a 2026-07-28 header mismatch, audited as an error) is answered with it.
 */
export type Verdict =
  | { readonly kind: 'forward'; readonly message: Admitted<RpcRequest>; readonly results?: ResultFilter }
  | { readonly kind: 'deliver'; readonly message: Admitted }
  | { readonly kind: 'drop' }
  | { readonly kind: 'refuse'; readonly response: RpcResponse; readonly http: boolean; readonly status?: number };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The one gate every client message bound for a child passes, in every era, version and batch element (steps/
 * forward.ts; a multi round-trip retry's answers through `admitAnswer`). A cheap switch on the method:
 * - a request: a method MCP defines for clients, or an extension that is no spelling of one (lib/mcp
 *   `isExtensionMethod`); `params` an object nesting at most MAX_JSON_DEPTH deep (-32602); then its method's own
 *   gate, if it has one (method-gates.ts `METHOD_GATES`: a `tools/call` through the tool gate, tool-gate.ts, and a
 *   `tools/list` answer without the tools the person may not call);
 * - a notification: only those MCP defines for the client (lib/mcp `CLIENT_NOTIFICATIONS`); a cancellation
 *   reaches the child only for a request of this client still pending there, renumbered to the child's id;
 * - a response: only to a request the child sent and this session-era client has not answered yet.
 * Whatever passes loses the client's own `_meta` keys starting with `gatekit` (any case): only the daemon speaks
 * for the person there (`stamp`). Any refusal is one `denied` audit line and never reaches the child.
 */
export function admitMessage(
  gate: GateInput,
  session: GateSession,
  message: RpcMessage,
  trace?: TraceContext,
): Verdict {
  if (!('method' in message)) return admitClientAnswer(gate, session, message);
  const { method } = message;
  const request = isRequest(message);
  const refuse = (why: string, code: number = ERRORS.INVALID_REQUEST) =>
    refusal(gate, message, trace, why, code, !request);
  // A request for a method no client may send is one that does not exist for it (JSON-RPC 2.0 §5.1: -32601, so 404
  // at 2026-07-28); a notification has no answer, so its refusal is the HTTP 400 of an invalid message.
  if (request ? !CLIENT_REQUESTS.has(method) && !isExtensionMethod(method) : !CLIENT_NOTIFICATIONS.has(method))
    return refuse(
      `${quote(method)} is not a ${request ? 'request' : 'notification'} a client may send`,
      request ? METHOD_NOT_FOUND : ERRORS.INVALID_REQUEST,
    );
  const params = message.params;
  if (params !== undefined && !isObject(params)) return refuse('params must be an object', ERRORS.INVALID_PARAMS);
  if (params !== undefined && nestsDeeper(params, MAX_JSON_DEPTH))
    return refuse(`params nest deeper than ${MAX_JSON_DEPTH} levels`, ERRORS.INVALID_PARAMS);
  const meta = params?.['_meta'];
  if (meta !== undefined && !isObject(meta)) return refuse('params._meta must be an object', ERRORS.INVALID_PARAMS);
  if (request) {
    const own = METHOD_GATES.get(method);
    const refused = own?.admit?.(gate, message, session, trace);
    if (refused) return { kind: 'refuse', http: false, ...refused };
    const results = own?.results?.(gate);
    const admitted = stripped(message) as Admitted<RpcRequest>;
    return results ? { kind: 'forward', message: admitted, results } : { kind: 'forward', message: admitted };
  }
  if (method === 'notifications/cancelled') {
    const childId = session.childIdOf(params?.['requestId']);
    if (childId === undefined) return { kind: 'drop' };
    return { kind: 'deliver', message: stripped({ ...message, params: { ...params, requestId: childId } }) };
  }
  // A pooled child was initialized by the daemon; 2026-07-28 has no initialize of its own.
  if (method === 'notifications/initialized' && session.era === 'stateless') return { kind: 'drop' };
  return { kind: 'deliver', message: stripped(message) };
}

/** A client's response: only in the session era, to a request the child sent and nobody answered yet. */
function admitClientAnswer(gate: GateInput, session: GateSession, message: RpcResponse): Verdict {
  const refuse = (why: string) => refusal(gate, message, undefined, why, ERRORS.INVALID_REQUEST, true);
  if (session.era !== 'session') return refuse('a 2026-07-28 client answers input requests in a retry');
  const admitted = admitAnswer(session, message);
  return admitted ? { kind: 'deliver', message: admitted } : refuse('a response to no request of the server');
}

/**
 * A client's answer to a request the child sent (a session-era response, or an `inputResponses` entry of a
 * 2026-07-28 retry, era/mrtr.ts): undefined unless the child asked under this id and is still waiting, or the
 * answer nests too deep. Each request is answered once.
 */
export function admitAnswer(session: GateSession, message: RpcResponse): Admitted | undefined {
  if (message.id === null || nestsDeeper(message.result ?? message.error, MAX_JSON_DEPTH)) return undefined;
  if (!session.takeAsked(message.id)) return undefined;
  const { jsonrpc, id, result, error } = message;
  // Only its JSON-RPC members, and a result's `_meta` without the client's `gatekit…` keys.
  if (!('result' in message)) return { jsonrpc, id, error } as Admitted;
  if (!isObject(result) || !isObject(result['_meta']) || !hasOwnKeys(result['_meta']))
    return { jsonrpc, id, result } as Admitted;
  return { jsonrpc, id, result: { ...result, _meta: withoutOwnKeys(result['_meta']) } } as Admitted;
}

/** A message the daemon itself makes for a child (initialize, its own cancellations, answers it gives). */
export function fromDaemon<T extends RpcMessage>(message: T): Admitted<T> {
  return message as Admitted<T>;
}

/** An admitted request without some of its `params` and `_meta` keys: a message may lose what the gate saw, never gain. */
export function narrowed(
  request: Admitted<RpcRequest>,
  params: readonly string[],
  metaKeys: readonly string[],
): Admitted<RpcRequest> {
  const source = request.params;
  if (!source) return request;
  const rest: Record<string, unknown> = {};
  for (const key of Object.keys(source)) if (!params.includes(key)) rest[key] = source[key];
  const meta = source['_meta'] as Record<string, unknown> | undefined;
  if (meta) {
    const kept: Record<string, unknown> = {};
    for (const key of Object.keys(meta)) if (!metaKeys.includes(key)) kept[key] = meta[key];
    rest['_meta'] = kept;
  }
  return { ...request, params: rest } as Admitted<RpcRequest>;
}

/**
 * The request as the child gets it: the session-unique id, and in `params._meta` the person (`gatekit/*`, only
 * when the server sets identity_meta, added after the client's own `gatekit` keys were stripped) and the W3C
 * `traceparent`. Without either, only the id changes.
 */
export function stamp(
  request: Admitted<RpcRequest>,
  childId: number,
  identity?: Person,
  trace?: TraceContext,
): Admitted<RpcRequest> {
  const { jsonrpc, method, params } = request;
  if (!identity && !trace)
    return (
      params === undefined ? { jsonrpc, id: childId, method } : { jsonrpc, id: childId, method, params }
    ) as Admitted<RpcRequest>;
  const meta = {
    ...(params?.['_meta'] as object | undefined),
    ...(identity
      ? { 'gatekit/user': identity.user, 'gatekit/sub': identity.sub, 'gatekit/groups': identity.groups }
      : {}),
    ...(trace ? { traceparent: trace.traceparent } : {}),
  };
  return { jsonrpc, id: childId, method, params: { ...params, _meta: meta } } as unknown as Admitted<RpcRequest>;
}

const isOurs = (key: string): boolean => key.length >= 7 && key.slice(0, 7).toLowerCase() === 'gatekit';
function hasOwnKeys(meta: Record<string, unknown>): boolean {
  for (const key in meta) if (isOurs(key)) return true;
  return false;
}
function withoutOwnKeys(meta: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const key in meta) if (!isOurs(key)) kept[key] = meta[key];
  return kept;
}

/**
 * The message as the child may read it: only its JSON-RPC members (a client's extra top-level keys, such as a
 * `result` on a request, stay behind), and `params._meta` without the client's `gatekit…` keys.
 */
function stripped<T extends RpcRequest | RpcNotification>(message: T): Admitted<T> {
  const { jsonrpc, method } = message;
  const id = (message as { id?: RpcId }).id;
  let params = message.params;
  const meta = params?.['_meta'] as Record<string, unknown> | undefined;
  if (meta && hasOwnKeys(meta)) params = { ...params, _meta: withoutOwnKeys(meta) };
  // Object literals, not spreads: a spread of a parsed message is the slow path of V8's object cloning.
  const clean =
    id === undefined
      ? params === undefined
        ? { jsonrpc, method }
        : { jsonrpc, method, params }
      : params === undefined
        ? { jsonrpc, id, method }
        : { jsonrpc, id, method, params };
  return clean as unknown as Admitted<T>;
}

const quote = (method: string): string => JSON.stringify(method.slice(0, 80));

function refusal(
  gate: GateInput,
  message: RpcMessage,
  trace: TraceContext | undefined,
  why: string,
  code: number,
  http: boolean,
): Verdict {
  const id: RpcId | null = 'id' in message && message.id !== undefined ? message.id : null;
  const method = 'method' in message ? message.method.slice(0, 80) : 'response';
  const params = 'params' in message && isObject(message.params) ? message.params : undefined;
  const tool =
    method === 'tools/call' && typeof params?.['name'] === 'string' ? params['name'].slice(0, 200) : undefined;
  gate.state.audit(
    auditLine.denied(gate.server.name, gate.caller, {
      era: gate.era,
      session: gate.session,
      method,
      ...(tool === undefined ? {} : { tool }),
      ...(id === null ? {} : { rpc_id: id }),
      ...(trace ? { trace_id: trace.trace_id, span_id: trace.span_id, parent_span_id: trace.parent_span_id } : {}),
      rpc_code: code,
      error: why,
    }),
  );
  return { kind: 'refuse', response: errorResponse(http ? null : id, code, why), http };
}
