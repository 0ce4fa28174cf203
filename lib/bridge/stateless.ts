import { isRequest, refusal, rpcErrorFor, type Message } from './answers.js';
import { statelessHeaders } from './era.js';
import { ACCEPT_POST, type DaemonLink } from './link.js';
import { ToolHeaders } from './tool-headers.js';
import { header, type DaemonResponse } from './transport.js';

const idKey = (id: unknown): string => JSON.stringify(id);

/** What the bridge does with an answer: relay a response body, write one message, or answer a failure. */
export interface StatelessHooks {
  readonly relay: (res: DaemonResponse) => Promise<void>;
  readonly write: (message: Message) => void;
  readonly fail: (message: unknown, err: unknown) => void;
}

/**
 * The messages of a 2026-07-28 client (SEP-2575): each POSTed alone, no session, its headers derived from its
 * body (era.ts). A long answer (an SSE stream such as `subscriptions/listen`, or a call's progress) is relayed
 * event by event until it ends or is cancelled; results, InputRequiredResult included, pass unchanged.
 */
export class StatelessRequests {
  readonly #link: DaemonLink;
  readonly #hooks: StatelessHooks;
  /** The requests on their way, by JSON-RPC id: closing one's POST cancels it (the daemon's rule). */
  readonly #inflight = new Map<string, AbortController>();
  /** The method of each request on its way, by JSON-RPC id (its answer may teach the tools' headers). */
  readonly #methods = new Map<string, unknown>();
  readonly #tools = new ToolHeaders();
  /** `subscriptions/listen` streams: they end only when closed, so the end of the client's input closes them. */
  readonly #listening = new Set<AbortController>();

  constructor(link: DaemonLink, hooks: StatelessHooks) {
    this.#link = link;
    this.#hooks = hooks;
  }

  async forward(message: unknown): Promise<void> {
    if ((message as Message)['method'] === 'notifications/cancelled') {
      const params = (message as Message)['params'] as Message | undefined;
      const running = this.#inflight.get(idKey(params?.['requestId']));
      // Cancelling a 2026-07-28 request is closing its stream: the daemon then cancels it at the child.
      if (running) return running.abort();
    }
    const controller = new AbortController();
    const key = isRequest(message) ? idKey(message.id) : undefined;
    if (key !== undefined) {
      this.#inflight.set(key, controller);
      this.#methods.set(key, (message as Message)['method']);
    }
    const listening = (message as Message)['method'] === 'subscriptions/listen';
    if (listening) this.#listening.add(controller);
    try {
      const params = await this.#tools.headersFor(message as Message, this.#link, controller.signal);
      const headers = { accept: ACCEPT_POST, ...statelessHeaders(message), ...params };
      const res = await this.#link.post(JSON.stringify(message), headers, controller.signal);
      // 2026-07-28 answers some JSON-RPC errors with an HTTP status (lib/mcp/status.ts): the client is owed the error.
      if ((res.status === 400 || res.status === 404) && key !== undefined) {
        const text = await res.body.text();
        const answer = rpcErrorFor(text, (message as Message)['id']);
        if (!answer) throw refusal(res.status, text, header(res, 'www-authenticate'));
        return this.#hooks.write(answer);
      }
      await this.#hooks.relay(res);
    } catch (err) {
      if (!controller.signal.aborted) this.#hooks.fail(message, err);
    } finally {
      if (key !== undefined && this.#inflight.get(key) === controller) {
        this.#inflight.delete(key);
        this.#methods.delete(key);
      }
      this.#listening.delete(controller);
    }
  }

  /** A message on its way to the client: tool lists and their changes teach the `Mcp-Param-*` headers. */
  seen(value: unknown): void {
    const message = value as Message | null;
    if (typeof message !== 'object' || message === null) return;
    if (message['method'] === 'notifications/tools/list_changed') return this.#tools.forget();
    if ('result' in message && this.#methods.get(idKey(message['id'])) === 'tools/list')
      this.#tools.noteList(message['result']);
  }

  /** The client's input ended: close the listen streams, which would otherwise never end; the rest may finish. */
  stopListening(): void {
    for (const controller of this.#listening) controller.abort();
  }

  /** Closes every request still on its way (the bridge is closing). */
  abortAll(): void {
    for (const controller of this.#inflight.values()) controller.abort();
  }
}
