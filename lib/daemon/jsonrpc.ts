/** JSON-RPC 2.0 message shapes, as far as the proxy needs to tell them apart. */
export type RpcId = string | number;
export interface RpcRequest {
  readonly jsonrpc: '2.0';
  readonly id: RpcId;
  readonly method: string;
  readonly params?: Record<string, unknown>;
}
export interface RpcNotification {
  readonly jsonrpc: '2.0';
  readonly method: string;
  readonly params?: Record<string, unknown>;
}
export interface RpcResponse {
  readonly jsonrpc: '2.0';
  readonly id: RpcId | null;
  readonly result?: unknown;
  readonly error?: { code: number; message: string; data?: unknown };
}
export type RpcMessage = RpcRequest | RpcNotification | RpcResponse;

const isObject = (m: unknown): m is Record<string, unknown> => typeof m === 'object' && m !== null && !Array.isArray(m);
const isId = (id: unknown): id is RpcId => typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));

export const isRequest = (m: unknown): m is RpcRequest =>
  isObject(m) && typeof m['method'] === 'string' && isId(m['id']);
export const isNotification = (m: unknown): m is RpcNotification =>
  isObject(m) && typeof m['method'] === 'string' && !('id' in m);
export const isResponse = (m: unknown): m is RpcResponse =>
  isObject(m) && !('method' in m) && 'id' in m && ('result' in m || 'error' in m);

export function isValidMessage(m: unknown): m is RpcMessage {
  return isObject(m) && m['jsonrpc'] === '2.0' && (isRequest(m) || isNotification(m) || isResponse(m));
}

/**
 * Whether `value` nests objects and arrays deeper than `max` levels. The walk stops at the bound, so a client's
 * 20,000-deep arguments cost `max` frames, never the stack (JSON.parse takes any depth; recursive walkers do not).
 */
export function nestsDeeper(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (nestsDeeper(item, max - 1)) return true;
    return false;
  }
  for (const key in value) if (nestsDeeper((value as Record<string, unknown>)[key], max - 1)) return true;
  return false;
}

export const ERRORS = {
  PARSE: -32700,
  INVALID_REQUEST: -32600,
  INVALID_PARAMS: -32602,
  INTERNAL: -32603,
  /** Implementation-defined server errors: -32000 to -32099. */
  SERVER_GONE: -32001,
  DENIED: -32003,
  TIMEOUT: -32004,
  /** A `rate` rule refused the call; `data.retry_after` says in how many seconds to try again. */
  RATE_LIMITED: -32005,
} as const;

export function errorResponse(id: RpcId | null, code: number, message: string, data?: unknown): RpcResponse {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}

/**
 * The child's response line with the client's id in place of the child's, without serializing the answer again;
 * undefined unless the line ends with `"id":CHILD_ID}`. That suffix is the top-level object's last member: the final
 * `}` closes the object (the line parsed as one), and a key string cannot hold an unescaped quote. JSON.parse keeps
 * the last of duplicate keys, so it is the id the message was routed by (RFC 8259, section 4); any other `"id":`
 * in the line (a nested or duplicate key) and the caller serializes the answer again.
 */
export function withClientId(line: string, childId: number, clientId: RpcId): string | undefined {
  const suffix = `"id":${childId}}`;
  const at = line.length - suffix.length;
  // The only `"id":` in the line, so that no parser, first-wins or last-wins, reads another id.
  if (!line.endsWith(suffix) || line.indexOf('"id":') !== at) return undefined;
  const before = line.charCodeAt(at - 1);
  if (before !== 0x2c && before !== 0x7b) return undefined; // ',' or '{'
  return `${line.slice(0, at)}"id":${JSON.stringify(clientId)}}`;
}
