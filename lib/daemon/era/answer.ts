import { errorHttpStatus, type RpcMessage } from '../../mcp/index.js';
import { toStatelessResult } from './wire.js';

/**
 * The HTTP status of a 2026-07-28 JSON answer to `method`, from the one table in lib/mcp (`errorHttpStatus`): a
 * child's -32601 for a method it does not know is 404, its -32021 (a capability the client did not declare) 400,
 * and so on, as the 2026-07-28 transport names them (SEP-2243, SEP-2575). A `tools/call` answer's errors are the
 * tool's own and stay in a 200 answer, except -32021.
 */
export function statelessStatus(method: string): (message: RpcMessage) => number {
  const inBand = method === 'tools/call';
  return (message) => ('error' in message ? errorHttpStatus(message.error?.code, inBand) : 200);
}

/**
 * What the HTTP exchange of a 2026-07-28 request applies to the child's answer: results get the
 * 2026-07-28 shape (`resultType`, and `ttlMs`/`cacheScope: "private"` where cacheable); errors pass as they are.
 */
export function statelessAnswer(method: string): (message: RpcMessage) => RpcMessage {
  return (message) =>
    'result' in message ? { ...message, result: toStatelessResult(method, message.result) } : message;
}
