/**
 * MCP wire words that both sides of Gatekit read: the daemon (lib/daemon/era) and `gatekit connect`
 * (lib/bridge). Pure constants and lookups, no I/O.
 */

export {
  ASSUMED_VERSION,
  BATCH_VERSIONS,
  CHILD_SESSION_VERSION,
  isStatelessVersion,
  PROTOCOL_VERSIONS,
  SESSION_VERSIONS,
  STATELESS_VERSION,
} from './versions.js';

/** The `params._meta` envelope keys of a 2026-07-28 request (SEP-2575). */
export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion';
export const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
export const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
export const META_LOG_LEVEL = 'io.modelcontextprotocol/logLevel';
export const META_SERVER_INFO = 'io.modelcontextprotocol/serverInfo';
/** The `_meta` key naming the `subscriptions/listen` request a notification belongs to (2026-07-28). */
export const META_SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';
/** The envelope keys a client sets in a 2026-07-28 request's `_meta`, which a session-era server does not read. */
export const ENVELOPE_KEYS: readonly string[] = [
  META_PROTOCOL_VERSION,
  META_CLIENT_INFO,
  META_CLIENT_CAPABILITIES,
  META_LOG_LEVEL,
];

/**
 * The protocol version a request or notification claims in its `params._meta` envelope (SEP-2575), if any.
 * Responses carry no envelope.
 */
export function envelopeVersion(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null || !('method' in message)) return undefined;
  const params = (message as { params?: unknown }).params;
  const meta = typeof params === 'object' && params !== null ? (params as Record<string, unknown>)['_meta'] : undefined;
  const version =
    typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)[META_PROTOCOL_VERSION] : undefined;
  return typeof version === 'string' ? version : undefined;
}

/** The tasks extension's identifier in `capabilities.extensions` (SEP-2663; 2025-11-25 had `capabilities.tasks`). */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

/** Which body field `Mcp-Name` mirrors, per method (SEP-2243 "Standard Request Headers"). */
const NAME_SOURCE: Readonly<Record<string, string>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

/** The `params` field a method's `Mcp-Name` header mirrors, or undefined when the method has none. */
export function nameField(method: string | undefined): string | undefined {
  return method !== undefined && Object.hasOwn(NAME_SOURCE, method) ? NAME_SOURCE[method] : undefined;
}

export { errorHttpStatus, HEADER_MISMATCH, METHOD_NOT_FOUND, UNSUPPORTED_VERSION } from './status.js';
export {
  CACHEABLE_RESULTS,
  CLIENT_NOTIFICATIONS,
  CLIENT_REQUESTS,
  INPUT_REQUESTS,
  isExtensionMethod,
  LOG_LEVELS,
  REMOVED_METHODS,
  RETRYABLE_METHODS,
} from './methods.js';

export {
  decodeHeaderValue,
  encodeHeaderValue,
  paramHeaderMismatch,
  paramHeaders,
  scanParamHeaders,
} from './param-headers.js';
export type { ParamHeader } from './param-headers.js';
export { normaliseUri, normaliseUriGlob, templatePrefix } from './resource-uri.js';
export { isNotification, isRequest, isResponse, isValidMessage, nestsDeeper } from './jsonrpc.js';
export type { RpcId, RpcMessage, RpcNotification, RpcRequest, RpcResponse } from './jsonrpc.js';
