import type { ServerResponse } from 'node:http';
import type { ResponseSink } from '../exchange.js';
import type { Admitted } from '../gate.js';
import {
  isNotification,
  META_SUBSCRIPTION_ID as SUBSCRIPTION_ID,
  type RpcMessage,
  type RpcRequest,
} from '../../mcp/index.js';
import { SSE_HEADERS, writeSseMessage } from '../sse.js';
import type { PooledChild } from './pool.js';
import type { Person } from '../../person.js';

const ACKNOWLEDGED = 'notifications/subscriptions/acknowledged';
/** Which filter flag lets each list_changed notification through. */
const LIST_CHANGED: Readonly<Record<string, string>> = {
  'notifications/tools/list_changed': 'toolsListChanged',
  'notifications/prompts/list_changed': 'promptsListChanged',
  'notifications/resources/list_changed': 'resourcesListChanged',
};

/** `message` with its `_meta` subscription id (the child's id of the listen request) made the client's. */
function restamped(message: RpcMessage, id: unknown, key: 'params' | 'result'): RpcMessage {
  const body = ((message as unknown as Record<string, unknown>)[key] ?? {}) as Record<string, unknown>;
  const meta = { ...(body['_meta'] as object | undefined), [SUBSCRIPTION_ID]: id };
  return { ...message, [key]: { ...body, _meta: meta } } as RpcMessage;
}

/**
 * `subscriptions/listen` of a stateless client on a pooled child that speaks 2026-07-28 itself: the child's own
 * listen. The request goes to the child (its id rewritten as any other's); what the child stamps with that id — its
 * acknowledgement, then its change notifications — comes back on this SSE stream restamped with the client's id,
 * and only what the client's filter asks for (the daemon still decides what it carries). Closing the stream cancels
 * the listen at the child (`notifications/cancelled`); the child's end answers it. A standing stream: the child owes
 * no answer, so the hang watchdog does not count it.
 */
export function nativeListen(
  child: PooledChild,
  caller: Person,
  request: Admitted<RpcRequest>,
  res: ServerResponse,
): void {
  const wanted = (request.params?.['notifications'] ?? {}) as Record<string, unknown>;
  const uris = new Set(Array.isArray(wanted['resourceSubscriptions']) ? wanted['resourceSubscriptions'] : []);
  const carries = (message: RpcMessage): boolean => {
    if (!isNotification(message)) return false;
    if (message.method === ACKNOWLEDGED) return true;
    if (message.method === 'notifications/resources/updated') return uris.has(message.params?.['uri']);
    return Object.hasOwn(LIST_CHANGED, message.method) && wanted[LIST_CHANGED[message.method]!] === true;
  };
  res.writeHead(200, SSE_HEADERS);
  const sink: ResponseSink = {
    open: false,
    interim: (message) => {
      if (carries(message) && !res.writableEnded) writeSseMessage(res, restamped(message, request.id, 'params'));
      return true;
    },
    respond: (message) => {
      if (res.writableEnded) return;
      writeSseMessage(res, 'result' in message ? restamped(message, request.id, 'result') : message);
      res.end();
    },
  };
  res.on('close', () => child.session.abandon(sink, 'listen closed'));
  child.session.forward(request, sink, caller);
}
