import { isNotification, isResponse, type RpcMessage, type RpcRequest } from '../mcp/index.js';

/** Requests a native child answered with `input_required` that one client may have open at once. */
const MAX_OPEN = 64;

type Write = (message: unknown) => void;

/**
 * A session-era client in front of a child that speaks only 2026-07-28 (SEP-2322 in reverse): the child answers a
 * call with an `InputRequiredResult`; each of its `inputRequests` goes to the client as a real server request
 * (sampling, elicitation, roots) under an id the daemon picks, and when every answer is in, the call is sent
 * again with `inputResponses` and the child's `requestState`, under the same id, so its final answer reaches the
 * client's original request. An error from the client ends the call with that error.
 */
export class InputRounds {
  /** The child's id → the request as written to it (so that it can be sent again). */
  readonly #written = new Map<unknown, RpcRequest>();
  /** The child's id → the round collecting the client's answers. */
  readonly #open = new Map<unknown, { state: unknown; responses: Record<string, unknown>; waiting: number }>();
  /** An id we asked the client under → the call and the input key it answers. */
  readonly #asked = new Map<string, { childId: unknown; key: string }>();
  #next = 1;

  /** A request on its way to the child. */
  sent(request: RpcRequest): void {
    if (this.#written.size >= MAX_OPEN) this.#written.delete(this.#written.keys().next().value);
    this.#written.set(request.id, request);
  }

  /** A message from the Session: true when it answered one of our questions (it goes no further). */
  fromClient(message: unknown, write: Write, deliver: Write): boolean {
    if (isNotification(message) && message.method === 'notifications/cancelled') {
      this.#forget(message.params?.['requestId']);
      return false;
    }
    if (!isResponse(message) || typeof message.id !== 'string' || !this.#asked.has(message.id)) return false;
    const { childId, key } = this.#asked.get(message.id)!;
    this.#asked.delete(message.id);
    const round = this.#open.get(childId);
    const request = this.#written.get(childId);
    if (!round || !request) return true;
    if ('error' in message) {
      this.#forget(childId);
      deliver({ jsonrpc: '2.0', id: childId, error: message.error });
      return true;
    }
    round.responses[key] = message.result;
    if (--round.waiting > 0) return true;
    this.#open.delete(childId);
    const state = round.state === undefined ? {} : { requestState: round.state };
    const retry = { ...request, params: { ...request.params, inputResponses: round.responses, ...state } };
    this.#written.set(childId, retry);
    write(retry);
    return true;
  }

  /** A response from the child: true when it was an `input_required` turned into questions to the client. */
  fromChild(message: RpcMessage, deliver: Write): boolean {
    if (!isResponse(message) || !this.#written.has(message.id)) return false;
    const result = 'result' in message ? (message.result as Record<string, unknown> | undefined) : undefined;
    const inputs = result?.['inputRequests'];
    if (result?.['resultType'] !== 'input_required' || typeof inputs !== 'object' || inputs === null) {
      this.#forget(message.id);
      return false;
    }
    const entries = Object.entries(inputs as Record<string, { method?: unknown; params?: unknown }>);
    if (entries.length === 0) return false;
    this.#open.set(message.id, { state: result['requestState'], responses: {}, waiting: entries.length });
    for (const [key, asked] of entries) {
      const id = `gatekit/input-${this.#next++}`;
      this.#asked.set(id, { childId: message.id, key });
      const params = asked.params === undefined ? {} : { params: asked.params };
      queueMicrotask(() => deliver({ jsonrpc: '2.0', id, method: asked.method, ...params }));
    }
    return true;
  }

  #forget(childId: unknown): void {
    this.#written.delete(childId);
    this.#open.delete(childId);
    for (const [id, asked] of this.#asked) if (asked.childId === childId) this.#asked.delete(id);
  }
}
