import type { ServerResponse } from 'node:http';
import type { RpcMessage } from '../mcp/index.js';
import { SSE_HEADERS, sseEvent, writeSseMessage } from './sse.js';

/** Where a forwarded request's answer goes: an HTTP exchange, or the daemon itself (lib/daemon/era). */
export interface ResponseSink {
  readonly open: boolean;
  interim(message: RpcMessage): boolean;
  respond(message: RpcMessage): void;
  /** The response as JSON text, when the sink can take it so (Exchange); false: call `respond`. */
  respondText?(text: string, message: RpcMessage): boolean;
}

/**
 * The answer to one POST that carried requests. It stays `application/json` when the responses
 * are all there is to say, and turns into a `text/event-stream` the moment something must be
 * said before them (progress, a server request) and the client accepts streams.
 * @see https://modelcontextprotocol.io/specification/2025-06-18/basic/transports#sending-messages-to-the-server
 */
export class Exchange implements ResponseSink {
  readonly #res: ServerResponse;
  readonly #headers: Record<string, string>;
  readonly #batch: boolean;
  readonly acceptsStream: boolean;
  #waiting: number;
  #streaming = false;
  readonly #collected: RpcMessage[] = [];
  readonly #translate: ((message: RpcMessage) => RpcMessage) | undefined;
  readonly #statusOf: ((message: RpcMessage) => number) | undefined;

  /** `translate` rewrites each response on its way out (the 2026-07-28 result shape, lib/daemon/era). */
  constructor(
    res: ServerResponse,
    options: {
      requests: number;
      batch: boolean;
      acceptsStream: boolean;
      headers: Record<string, string>;
      translate?: ((message: RpcMessage) => RpcMessage) | undefined;
      /** The HTTP status of a single JSON answer (200 unless said; lib/daemon/era `statelessStatus` at 2026-07-28). */
      statusOf?: ((message: RpcMessage) => number) | undefined;
    },
  ) {
    this.#res = res;
    this.#waiting = options.requests;
    this.#batch = options.batch;
    this.acceptsStream = options.acceptsStream;
    this.#headers = options.headers;
    this.#translate = options.translate;
    this.#statusOf = options.statusOf;
  }

  get open(): boolean {
    return this.#waiting > 0 && !this.#res.destroyed;
  }

  /** Every response this POST waited for has been handed to it. */
  get answered(): boolean {
    return this.#waiting === 0;
  }

  /** A message before the responses; false when this exchange cannot carry it (JSON mode). */
  interim(message: RpcMessage): boolean {
    if (!this.acceptsStream || !this.open) return false;
    this.#startStream();
    writeSseMessage(this.#res, message);
    return true;
  }

  /** One of the responses this POST is waiting for. */
  respond(response: RpcMessage): void {
    if (this.#waiting <= 0) return;
    const message = this.#translate ? this.#translate(response) : response;
    this.#waiting -= 1;
    if (this.#streaming) {
      writeSseMessage(this.#res, message);
      if (this.#waiting === 0) this.#res.end();
      return;
    }
    this.#collected.push(message);
    if (this.#waiting > 0) return;
    const body = JSON.stringify(this.#batch ? this.#collected : this.#collected[0]);
    this.#send(this.#batch || !this.#statusOf ? 200 : this.#statusOf(this.#collected[0]!), body);
  }

  /**
   * The one response of a plain exchange as JSON text already serialized (session.ts splices the client's id into
   * the child's line; `message` is that line parsed, for its status); false when this exchange must rewrite the
   * message itself (a batch, translate).
   */
  respondText(text: string, message: RpcMessage): boolean {
    if (this.#waiting !== 1 || this.#batch || this.#translate) return false;
    this.#waiting = 0;
    if (this.#streaming) {
      this.#res.end(sseEvent(text));
      return true;
    }
    this.#send(this.#statusOf ? this.#statusOf(message) : 200, text);
    return true;
  }

  #send(status: number, body: string): void {
    this.#res.writeHead(status, {
      ...this.#headers,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    this.#res.end(body);
  }

  #startStream(): void {
    if (this.#streaming) return;
    this.#streaming = true;
    this.#res.writeHead(200, { ...this.#headers, ...SSE_HEADERS });
    for (const earlier of this.#collected.splice(0)) writeSseMessage(this.#res, earlier);
  }
}
