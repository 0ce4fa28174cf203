import type { ServerResponse } from 'node:http';
import {
  errorHttpStatus,
  isNotification,
  META_SUBSCRIPTION_ID as SUBSCRIPTION_ID,
  type RpcId,
  type RpcMessage,
  type RpcRequest,
} from '../../mcp/index.js';
import { ERRORS, errorResponse } from '../jsonrpc.js';
import type { Session } from '../session.js';
import { SSE_HEADERS, writeSseMessage } from '../sse.js';
import type { Admitted } from '../gate.js';
import { nativeListen } from './native-listen.js';
import { ask, type PooledChild } from './pool.js';
import type { Person } from '../../person.js';

/**
 * `subscriptions/listen` (MCP 2026-07-28), the stateless era's replacement of the GET stream: the answer
 * is an SSE stream that starts with `notifications/subscriptions/acknowledged` (the filter the daemon
 * honours) and then carries the change notifications of the person's pooled child that the filter asks
 * for, each stamped with `_meta["io.modelcontextprotocol/subscriptionId"]` = the listen request's id.
 * When the child ends (idle, evicted, crashed) each stream gets the empty listen result and closes.
 */
/** Open listen streams per pooled child, and resource URIs per listen request; beyond them: -32600. */
export const MAX_LISTENERS_PER_CHILD = 8;
const MAX_LISTEN_URIS = 64;

interface Filter {
  toolsListChanged?: true;
  promptsListChanged?: true;
  resourcesListChanged?: true;
  resourceSubscriptions?: string[];
}
interface Listener {
  readonly id: RpcId;
  readonly filter: Filter;
  readonly res: ServerResponse;
}
/** Which filter flag lets each list_changed notification through. */
const LIST_CHANGED: Readonly<Record<string, 'toolsListChanged' | 'promptsListChanged' | 'resourcesListChanged'>> = {
  'notifications/tools/list_changed': 'toolsListChanged',
  'notifications/prompts/list_changed': 'promptsListChanged',
  'notifications/resources/list_changed': 'resourcesListChanged',
};
const RESOURCE_UPDATED = 'notifications/resources/updated';

const wants = (filter: Filter, message: RpcMessage): boolean => {
  if (!isNotification(message)) return false;
  if (message.method === RESOURCE_UPDATED)
    return filter.resourceSubscriptions?.includes(message.params?.['uri'] as string) ?? false;
  return Object.hasOwn(LIST_CHANGED, message.method) && filter[LIST_CHANGED[message.method]!] === true;
};

/**
 * Routes the pooled child's change notifications to its listen streams, from the first stateless request
 * on: a stateless client hears of changes on `subscriptions/listen` only, never on another request's answer.
 */
export function attachListeners(session: Session): Set<Listener> {
  if (session.tap instanceof ListenTap) return session.tap.listeners;
  const tap = new ListenTap();
  session.tap = tap;
  return tap.listeners;
}

/** A pooled child's tap (Session `tap`): its open listen streams, which its change notifications go to. */
class ListenTap {
  readonly listeners = new Set<Listener>();

  message(message: RpcMessage): boolean {
    if (
      !isNotification(message) ||
      !(Object.hasOwn(LIST_CHANGED, message.method) || message.method === RESOURCE_UPDATED)
    )
      return false;
    for (const l of this.listeners) {
      if (!wants(l.filter, message)) continue;
      const meta = { ...(message.params?.['_meta'] as object | undefined), [SUBSCRIPTION_ID]: l.id };
      writeSseMessage(l.res, { ...message, params: { ...message.params, _meta: meta } });
    }
    return true;
  }

  ended(): void {
    for (const l of this.listeners) {
      writeSseMessage(l.res, {
        jsonrpc: '2.0',
        id: l.id,
        result: { _meta: { [SUBSCRIPTION_ID]: l.id }, resultType: 'complete' },
      });
      l.res.end();
    }
    this.listeners.clear();
  }
}

/** Opens a listen stream on `res`; the error it answered with instead, if any (for the audit line). */
export async function openListen(
  child: PooledChild,
  caller: Person,
  request: Admitted<RpcRequest>,
  res: ServerResponse,
  acceptsStream: boolean,
): Promise<string | undefined> {
  const set = attachListeners(child.session);
  const wanted = request.params?.['notifications'] as Record<string, unknown> | undefined;
  const uris = wanted?.['resourceSubscriptions'] ?? [];
  const refusal = !acceptsStream
    ? 'subscriptions/listen answers with text/event-stream: send Accept: text/event-stream'
    : typeof wanted !== 'object' || wanted === null || !Array.isArray(uris) || !uris.every((u) => typeof u === 'string')
      ? 'params.notifications must be a subscription filter'
      : uris.length > MAX_LISTEN_URIS
        ? `at most ${MAX_LISTEN_URIS} resourceSubscriptions per listen request`
        : set.size >= MAX_LISTENERS_PER_CHILD
          ? `at most ${MAX_LISTENERS_PER_CHILD} open subscriptions per person and server`
          : undefined;
  if (refusal !== undefined) {
    const code = acceptsStream ? ERRORS.INVALID_PARAMS : ERRORS.INVALID_REQUEST;
    const body = JSON.stringify(errorResponse(request.id, code, refusal));
    res
      .writeHead(errorHttpStatus(code), {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      })
      .end(body);
    return refusal;
  }
  if (child.session.child.era === 'native') {
    // The child's own listen; it counts toward the bound like the daemon's.
    const placeholder: Listener = { id: request.id, filter: {}, res };
    set.add(placeholder);
    res.on('close', () => set.delete(placeholder));
    nativeListen(child, caller, request, res);
    return undefined;
  }
  const caps = (child.initialized['capabilities'] ?? {}) as Record<
    string,
    { listChanged?: unknown; subscribe?: unknown }
  >;
  const honored: Filter = {};
  if (wanted!['toolsListChanged'] === true && caps['tools']?.listChanged) honored.toolsListChanged = true;
  if (wanted!['promptsListChanged'] === true && caps['prompts']?.listChanged) honored.promptsListChanged = true;
  if (wanted!['resourcesListChanged'] === true && caps['resources']?.listChanged) honored.resourcesListChanged = true;
  if ((uris as string[]).length > 0 && caps['resources']?.subscribe) {
    const subscribed: string[] = [];
    for (const uri of new Set(uris as string[])) {
      const asked = {
        jsonrpc: '2.0',
        id: 'gatekit/subscribe',
        method: 'resources/subscribe',
        params: { uri },
      } as const;
      if (
        await ask(child.session, caller, asked).then(
          () => true,
          () => false,
        )
      )
        subscribed.push(uri);
    }
    honored.resourceSubscriptions = subscribed;
  }
  const listener: Listener = { id: request.id, filter: honored, res };
  res.writeHead(200, SSE_HEADERS);
  writeSseMessage(res, {
    jsonrpc: '2.0',
    method: 'notifications/subscriptions/acknowledged',
    params: { notifications: honored, _meta: { [SUBSCRIPTION_ID]: request.id } },
  });
  if (child.session.ended || res.destroyed) {
    res.end();
    return undefined;
  }
  set.add(listener);
  res.on('close', () => set.delete(listener));
  return undefined;
}
