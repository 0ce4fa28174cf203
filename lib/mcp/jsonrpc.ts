/**
 * JSON-RPC 2.0 message shapes, as far as MCP's two sides (the daemon, `gatekit connect`) tell them apart.
 * @see https://www.jsonrpc.org/specification
 */
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
