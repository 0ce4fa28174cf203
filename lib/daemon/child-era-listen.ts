import { ERRORS, errorResponse } from './jsonrpc.js';
import {
  isNotification,
  isResponse,
  META_SUBSCRIPTION_ID as SUBSCRIPTION_ID,
  METHOD_NOT_FOUND,
  type RpcId,
  type RpcRequest,
} from '../mcp/index.js';

const ACKNOWLEDGED = 'notifications/subscriptions/acknowledged';
const RESOURCE_UPDATED = 'notifications/resources/updated';
/** Our listens' ids: whatever the child stamps with one is about a listen of ours, current or cancelled. */
const ID_PREFIX = 'gatekit/listen-';
const ours = (id: unknown): id is string => typeof id === 'string' && id.startsWith(ID_PREFIX);
/** Resource subscriptions per session, as per `subscriptions/listen` (era/listen.ts); beyond it: -32602. */
const MAX_URIS = 64;
/** Which capability (of the child's discover result) and listen filter flag each list_changed needs. */
const LIST_CHANGED = [
  ['tools', 'toolsListChanged', 'notifications/tools/list_changed'],
  ['prompts', 'promptsListChanged', 'notifications/prompts/list_changed'],
  ['resources', 'resourcesListChanged', 'notifications/resources/list_changed'],
] as const;

type Capabilities = Record<string, { listChanged?: unknown; subscribe?: unknown } | undefined>;
type Filter = Record<string, true | string[]>;

/** What a SessionListen needs of its era bridge (child-era.ts): the child's stdin, the Session, and the envelope. */
export interface ListenLink {
  /** To the child's stdin, as the daemon's own (the listen request, its cancellation). */
  write(message: unknown): void;
  /** To the Session, as if the child had sent it. */
  deliver(message: unknown): void;
  /** The 2026-07-28 `_meta` envelope of the client's `initialize`. */
  envelope(): Record<string, unknown>;
  /** The child's capabilities from its discover result. */
  capabilities(): Capabilities;
}

/**
 * A session-era client in front of a child that speaks only 2026-07-28: the child sends its change notifications only
 * on a `subscriptions/listen`, so the daemon holds one of its own towards the child while the client has a GET
 * stream open or resource subscriptions, with the filter the session era implies — every `list_changed` the child
 * offers, and the URIs of the client's `resources/subscribe` (answered here; the child has no such method). A new
 * filter is a new listen; the old one is cancelled at the child once the new one is acknowledged, so nothing falls
 * between them, and a subscribe is answered only then. What comes back goes to the Session as the child's own
 * notification, without the subscription id, and only what that filter asks for: an update for a URI this client
 * did not subscribe to is dropped, whatever the child stamps. With neither stream nor subscription the listen is
 * cancelled at the child; the child's end ends it.
 * @see https://modelcontextprotocol.io/specification/draft/basic/utilities/subscriptions (SEP-2575 listen)
 */
export class SessionListen {
  readonly #link: ListenLink;
  readonly #uris = new Set<string>();
  #streaming = false;
  /** Set once the daemon answers the client's `initialize` itself (the child refused it). */
  #enabled = false;
  #next = 1;
  /** The newest listen sent, and its filter (JSON) to tell whether a new one is needed. */
  #current: { id: string; key: string } | undefined;
  /** The acknowledged listen whose notifications reach the client. */
  #active: string | undefined;
  /** Subscribe requests (the child's ids) answered when the current listen is acknowledged. */
  #waiting: RpcId[] = [];

  constructor(link: ListenLink) {
    this.#link = link;
  }

  /** The daemon speaks for the child from now on (its `initialize` was refused). */
  enable(): void {
    this.#enabled = true;
    this.#sync();
  }

  /** The session's GET stream opened or closed. */
  streaming(open: boolean): void {
    this.#streaming = open;
    this.#sync();
  }

  /** A client request on its way to the child: `resources/subscribe` and `unsubscribe` are taken and answered here. */
  take(request: RpcRequest): boolean {
    if (!this.#enabled) return false;
    const subscribe = request.method === 'resources/subscribe';
    if (!subscribe && request.method !== 'resources/unsubscribe') return false;
    const uri = request.params?.['uri'];
    const refuse = (code: number, why: string) => this.#answer(errorResponse(request.id, code, why));
    // As a session-era server without the capability: it has no such method.
    if (!this.#link.capabilities()['resources']?.subscribe) refuse(METHOD_NOT_FOUND, 'Method not found');
    else if (typeof uri !== 'string') refuse(ERRORS.INVALID_PARAMS, 'params.uri must be a string');
    else if (subscribe && !this.#uris.has(uri) && this.#uris.size >= MAX_URIS)
      refuse(ERRORS.INVALID_PARAMS, `at most ${MAX_URIS} resource subscriptions per session`);
    else {
      if (subscribe) this.#uris.add(uri);
      else this.#uris.delete(uri);
      this.#sync();
      if (subscribe && this.#current && this.#current.id !== this.#active) this.#waiting.push(request.id);
      else this.#answer({ jsonrpc: '2.0', id: request.id, result: {} });
    }
    return true;
  }

  /** A message from the child: true when it was about one of our listens (delivered translated, or dropped). */
  receive(message: unknown): boolean {
    if (isResponse(message)) {
      if (!ours(message.id)) return false;
      this.#ended(message.id, message.error);
      return true;
    }
    if (!isNotification(message)) return false;
    const meta = message.params?.['_meta'] as Record<string, unknown> | undefined;
    const id = meta?.[SUBSCRIPTION_ID];
    if (!ours(id)) return false;
    if (message.method === ACKNOWLEDGED) this.#acknowledged(id);
    else if (id === this.#active && this.#carries(message.method, message.params?.['uri'])) {
      const { [SUBSCRIPTION_ID]: _, ...rest } = meta!;
      const params = { ...message.params };
      if (Object.keys(rest).length > 0) params['_meta'] = rest;
      else delete params['_meta'];
      this.#link.deliver({ jsonrpc: '2.0', method: message.method, params });
    }
    return true;
  }

  #carries(method: string, uri: unknown): boolean {
    if (method === RESOURCE_UPDATED) return typeof uri === 'string' && this.#uris.has(uri);
    const wanted = LIST_CHANGED.find(([, , m]) => m === method);
    return wanted !== undefined && this.#filter()?.[wanted[1]] === true;
  }

  /** The filter the session era implies now; undefined when there is nothing to listen for. */
  #filter(): Filter | undefined {
    if (!this.#enabled || (!this.#streaming && this.#uris.size === 0)) return undefined;
    const caps = this.#link.capabilities();
    const filter: Filter = {};
    for (const [cap, flag] of LIST_CHANGED) if (caps[cap]?.listChanged) filter[flag] = true;
    if (this.#uris.size > 0) filter['resourceSubscriptions'] = [...this.#uris];
    return Object.keys(filter).length > 0 ? filter : undefined;
  }

  #sync(): void {
    const filter = this.#filter();
    const key = filter && JSON.stringify(filter);
    if (key === this.#current?.key) return;
    // A listen not yet acknowledged is superseded at once; the active one once its successor is acknowledged.
    if (this.#current && this.#current.id !== this.#active) this.#cancel(this.#current.id);
    this.#current = undefined;
    if (!filter) {
      if (this.#active) this.#cancel(this.#active);
      this.#active = undefined;
      return this.#flush();
    }
    const id = `${ID_PREFIX}${this.#next++}`;
    this.#current = { id, key: key! };
    const params = { notifications: filter, _meta: this.#link.envelope() };
    this.#link.write({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params });
  }

  #acknowledged(id: string): void {
    if (id !== this.#current?.id) return;
    if (this.#active !== undefined) this.#cancel(this.#active);
    this.#active = id;
    this.#flush();
  }

  /** The child answered one of our listens: it ended there (its graceful end, or a refusal). */
  #ended(id: string, error: { code: number; message: string } | undefined): void {
    if (id === this.#active) this.#active = undefined;
    if (id !== this.#current?.id) return;
    this.#current = undefined;
    this.#flush(error);
  }

  #flush(error?: { code: number; message: string }): void {
    for (const id of this.#waiting.splice(0))
      this.#answer(error ? errorResponse(id, error.code, error.message) : { jsonrpc: '2.0', id, result: {} });
  }

  #cancel(id: string): void {
    const params = { requestId: id, reason: 'the client no longer listens' };
    this.#link.write({ jsonrpc: '2.0', method: 'notifications/cancelled', params });
  }

  /** As a child's answer would come: after the Session has finished sending. */
  #answer(message: unknown): void {
    queueMicrotask(() => this.#link.deliver(message));
  }
}
