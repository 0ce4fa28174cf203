import type { RpcId, RpcResponse } from '../mcp/index.js';

/** The JSON-RPC error codes the daemon answers with (the standard ones, and its own from -32000 down). */
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
