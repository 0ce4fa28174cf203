import type { RpcMessage } from '../jsonrpc.js';
import { toStatelessResult } from './wire.js';

/**
 * What the HTTP exchange of a 2026-07-28 request applies to the child's answer: results get the
 * 2026-07-28 shape (`resultType`, and `ttlMs`/`cacheScope: "private"` where cacheable); errors pass as they are.
 */
export function statelessAnswer(method: string): (message: RpcMessage) => RpcMessage {
  return (message) =>
    'result' in message ? { ...message, result: toStatelessResult(method, message.result) } : message;
}
