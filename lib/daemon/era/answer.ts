import type { RpcMessage } from '../jsonrpc.js';
import { toStatelessResult } from './wire.js';

/**
 * What the HTTP exchange of a 2026-07-28 request applies to the child's answer: results get the
 * 2026-07-28 shape (`resultType`, and `ttlMs`/`cacheScope: "private"` where cacheable); errors pass as they are.
 */
/**
 * The HTTP status of a 2026-07-28 JSON answer: 404 when the child does not know the method (-32601), as the
 * 2026-07-28 HTTP transport asks of a server that does not implement a method (SEP-2575); else 200.
 */
export const statelessStatus = (message: RpcMessage): number =>
  'error' in message && message.error?.code === -32601 ? 404 : 200;

export function statelessAnswer(method: string): (message: RpcMessage) => RpcMessage {
  return (message) =>
    'result' in message ? { ...message, result: toStatelessResult(method, message.result) } : message;
}
