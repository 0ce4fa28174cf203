import { GatekitError, isGatekitError } from '../errors.js';
import { META_PROTOCOL_VERSION, SESSION_VERSIONS, STATELESS_VERSION, UNSUPPORTED_VERSION } from '../mcp/index.js';

export type Message = Record<string, unknown>;
export type Request = Message & { id: string | number; method: string };

export const isRequest = (m: unknown): m is Request =>
  typeof m === 'object' &&
  m !== null &&
  !Array.isArray(m) &&
  typeof (m as Message)['method'] === 'string' &&
  (m as Message)['id'] !== undefined;

/** The daemon refused a call for want of a fresh login: RFC 9470 `insufficient_user_authentication`. */
export function isStepUp(value: unknown): value is Message {
  const error = (value as Message | null)?.['error'] as Message | undefined;
  const data = error?.['data'] as Message | undefined;
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    error?.['code'] === -32003 &&
    data?.['error'] === 'insufficient_user_authentication'
  );
}

/**
 * The JSON-RPC error a 2026-07-28 refusal carries for request `id` (such as -32020 header mismatch or -32022
 * unsupported version, in a 400), with the request's id: the client is owed that error, not a paraphrase of it.
 */
export function rpcErrorFor(body: string, id: unknown): Message | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  const error = (value as Message | null)?.['error'] as Message | undefined;
  // The daemon refuses before it reads the id (`id: null`); a stateless POST carries this one request only.
  const answered = (value as Message)['id'];
  if (typeof error?.['code'] !== 'number' || (answered !== id && answered !== null)) return undefined;
  const message = String(error['message'] ?? '').slice(0, 500);
  // `data` too (-32022's supported versions, -32021's required capabilities), unless it is large.
  const data =
    error['data'] !== undefined && JSON.stringify(error['data']).length <= 4096 ? { data: error['data'] } : {};
  return { jsonrpc: '2.0', id, error: { code: error['code'], message, ...data } };
}

/** An HTTP refusal from the daemon as one GatekitError, with the JSON-RPC or RFC 6750 reason when it gave one. */
export function refusal(status: number, body: string, authenticate: string | undefined): GatekitError {
  let detail = '';
  try {
    detail = String(((JSON.parse(body) as Message)['error'] as Message | undefined)?.['message'] ?? '');
  } catch {
    /* not JSON */
  }
  const described = /error_description="([^"]*)"/.exec(authenticate ?? '')?.[1];
  const why = detail || described || `HTTP ${status}`;
  if (status === 401) return new GatekitError('TOKEN_INVALID', `the daemon refused the token: ${why}`);
  if (status === 403) return new GatekitError('POLICY_DENIED', `the daemon refused: ${why}`);
  return new GatekitError('DAEMON_UNREACHABLE', `the daemon answered ${status}: ${why}`);
}

/** The session-era version a client may fall back to when its `server/discover` cannot be answered: the newest. */
const FALLBACK_VERSION = [...SESSION_VERSIONS][0]!;

/**
 * A 2026-07-28 client's `server/discover` the bridge could not deliver (a refusal by policy, an ended login, an
 * unreachable daemon): an UnsupportedProtocolVersion error (-32022) with the reason as its message and the session
 * era as what is supported. It is the one probe answer the v2 SDK surfaces with the server's own words: a client
 * pinned to 2026-07-28 fails with this message (any other error reads as "the server did not offer the version"),
 * and one that may fall back sends `initialize`, whose failure carries the same reason.
 */
function discoverFailure(request: Request, e: GatekitError): Message {
  const meta = (request['params'] as Message | undefined)?.['_meta'] as Message | undefined;
  const asked = meta?.[META_PROTOCOL_VERSION];
  const requested = typeof asked === 'string' ? asked.slice(0, 100) : STATELESS_VERSION;
  const data = { supported: [FALLBACK_VERSION], requested };
  return { jsonrpc: '2.0', id: request.id, error: { code: UNSUPPORTED_VERSION, message: e.message, data } };
}

/**
 * What the client reads for each request in a message the bridge could not deliver: a tool call whose login
 * ended gets a tool error (`isError`) with the device-login URL and code, anything else a JSON-RPC error
 * (-32001 for a login, -32000 otherwise). Notifications get nothing.
 */
export function failureAnswers(message: unknown, e: GatekitError): Message[] {
  const requests = (Array.isArray(message) ? message : [message]).filter(isRequest);
  return requests.map((request) =>
    request.method === 'server/discover'
      ? discoverFailure(request, e)
      : isGatekitError(e, 'LOGIN_REQUIRED') && request.method === 'tools/call'
        ? { jsonrpc: '2.0', id: request.id, result: { content: [{ type: 'text', text: e.message }], isError: true } }
        : {
            jsonrpc: '2.0',
            id: request.id,
            error: { code: e.code === 'LOGIN_REQUIRED' ? -32001 : -32000, message: e.message },
          },
  );
}
