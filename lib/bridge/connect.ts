import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { BrokerContext } from '../broker/index.js';
import { GatekitError } from '../errors.js';
import { failureAnswers, isRequest, isStepUp, refusal, type Message } from './answers.js';
import { messageEra, type Era } from './era.js';
import { ACCEPT_POST, DaemonLink } from './link.js';
import { sseEvents } from './sse.js';
import { StatelessRequests } from './stateless.js';
import { holdEventStream } from './stream.js';
import { header, type DaemonResponse } from './transport.js';

export interface ConnectIO {
  readonly stdin: Readable;
  /** One JSON-RPC message (or batch) per call; the bridge adds nothing else to stdout. */
  readonly write: (message: unknown) => void;
  readonly say: (line: string) => void;
}

/**
 * `gatekit connect NAME`: a stdio MCP server that forwards every message to the daemon's Streamable HTTP
 * endpoint for NAME with a fresh token, and every answer and server-initiated message back. It speaks the
 * era of the client on its stdio, per message (see era.ts): a session-era client gets a daemon session (and
 * outlives daemon restarts by replaying its own initialize); a 2026-07-28 client's requests go out each on
 * its own, without a session, with the headers the body implies, and their results (InputRequiredResult
 * included) come back unchanged. An ended login makes the failing call carry a device-login URL and code.
 */
export class Bridge {
  readonly #link: DaemonLink;
  readonly #io: ConnectIO;
  #era: Era = 'session';
  #session: string | undefined;
  #protocol: string | undefined;
  #initialize: Message | undefined;
  #stream: AbortController | undefined;
  readonly #stateless: StatelessRequests;
  #closed = false;

  constructor(ctx: BrokerContext, serverName: string, io: ConnectIO) {
    this.#link = new DaemonLink(ctx, serverName, io.say);
    this.#io = io;
    this.#stateless = new StatelessRequests(this.#link, {
      relay: (res) => this.#relay(res, false),
      write: (message) => this.#io.write(message),
      fail: (message, err) => this.#fail(message, err),
    });
  }

  /** Runs until stdin ends; then ends the daemon session, if there is one. */
  async run(): Promise<void> {
    const pending = new Set<Promise<void>>();
    for await (const line of createInterface({ input: this.#io.stdin, crlfDelay: Infinity })) {
      if (!line.trim()) continue;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        this.#io.write({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error: not JSON' } });
        continue;
      }
      this.#era = messageEra(message) ?? this.#era;
      // The initialize exchange is ordered; everything after it may run concurrently.
      const task = this.#era === 'stateless' ? this.#stateless.forward(message) : this.#forward(message);
      if (isRequest(message) && message.method === 'initialize') {
        await task;
        continue;
      }
      pending.add(task);
      void task.finally(() => pending.delete(task));
    }
    this.#stateless.stopListening();
    await Promise.allSettled(pending);
    await this.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stream?.abort();
    this.#stateless.abortAll();
    if (this.#session) {
      try {
        await (await this.#link.send('DELETE', this.#sessionHeaders())).body.dump();
      } catch {
        /* the daemon ends idle sessions itself */
      }
    }
    await this.#link.close();
  }

  async #forward(message: unknown): Promise<void> {
    try {
      const initializing = isRequest(message) && message.method === 'initialize';
      if (initializing) {
        this.#initialize = message;
        this.#session = undefined;
        this.#protocol = undefined;
      }
      let res = await this.#postInSession(message);
      if (res.status === 404 && this.#session && !initializing) {
        await res.body.dump();
        await this.#reinitialize();
        res = await this.#postInSession(message);
      }
      await this.#relay(res, initializing);
      if (!Array.isArray(message) && (message as Message)['method'] === 'notifications/initialized') this.#openStream();
    } catch (err) {
      this.#fail(message, err);
    }
  }

  #sessionHeaders(accept = ACCEPT_POST): Record<string, string> {
    const headers: Record<string, string> = { accept };
    if (this.#session) headers['mcp-session-id'] = this.#session;
    if (this.#protocol) headers['mcp-protocol-version'] = this.#protocol;
    return headers;
  }

  #postInSession(message: unknown): Promise<DaemonResponse> {
    return this.#link.post(JSON.stringify(message), this.#sessionHeaders());
  }

  async #relay(res: DaemonResponse, initializing: boolean, quiet = false): Promise<void> {
    if (initializing && res.status === 200) this.#session = header(res, 'mcp-session-id') ?? this.#session;
    if (res.status === 202) return res.body.dump();
    const type = header(res, 'content-type') ?? '';
    if (res.status === 200 && type.includes('text/event-stream')) {
      for await (const event of sseEvents(res.body)) this.#deliver(event.data, initializing, quiet);
      return;
    }
    const text = await res.body.text();
    if (res.status === 200 && type.includes('application/json')) return this.#deliver(text, initializing, quiet);
    throw refusal(res.status, text, header(res, 'www-authenticate'));
  }

  #deliver(data: string, initializing: boolean, quiet: boolean): void {
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return this.#io.say('gatekit connect: the daemon sent a message that is not JSON; dropped');
    }
    if (initializing) {
      const version = ((value as Message)['result'] as Message | undefined)?.['protocolVersion'];
      if (typeof version === 'string') this.#protocol = version;
    }
    if (quiet) return;
    if (this.#era === 'stateless') this.#stateless.seen(value);
    if (isStepUp(value)) void this.#stepUp(value);
    else this.#io.write(value);
  }

  /**
   * The daemon refused a call for want of a fresh login (RFC 9470 `insufficient_user_authentication`
   * in the JSON-RPC error's data): answer it with a device login that re-authenticates the person,
   * as a tool error the model and the person can read; the retried call then goes through.
   */
  async #stepUp(answer: Message): Promise<void> {
    const data = (answer['error'] as Message)['data'] as Message;
    const rule = String(data['rule'] ?? 'a fresh_login rule').slice(0, 200);
    let text: string;
    try {
      text = `This tool needs a recent login (${rule}). ${(await this.#link.tokens.stepUp()).message}`;
    } catch (err) {
      text = `This tool needs a recent login (${rule}), and starting one failed: ${(err as Error).message}`;
    }
    this.#io.say(`gatekit connect: ${text}`);
    this.#io.write({ jsonrpc: '2.0', id: answer['id'], result: { content: [{ type: 'text', text }], isError: true } });
  }

  /** The daemon lost our session (it restarted): replay the client's initialize, quietly. */
  async #reinitialize(): Promise<void> {
    if (!this.#initialize)
      throw new GatekitError('DAEMON_UNREACHABLE', 'the daemon ended the session before it was initialised');
    this.#io.say('gatekit connect: the daemon ended our session (restart?); starting a new one');
    this.#session = undefined;
    this.#protocol = undefined;
    this.#stream?.abort();
    const replay = { ...this.#initialize, id: `gatekit-reinitialize-${Date.now()}` };
    await this.#relay(await this.#postInSession(replay), true, true);
    const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };
    await this.#relay(await this.#postInSession(initialized), false, true);
    this.#openStream();
  }

  /** The GET stream carries server-initiated requests and notifications; reopened while the session lives. */
  #openStream(): void {
    this.#stream?.abort();
    if (this.#closed) return;
    this.#stream = new AbortController();
    const open = (headers: Record<string, string>, signal: AbortSignal) =>
      this.#link.send('GET', { ...this.#sessionHeaders(), ...headers }, undefined, signal);
    holdEventStream(open, (data) => this.#deliver(data, false, false), this.#stream.signal);
  }

  #fail(message: unknown, err: unknown): void {
    const e = err instanceof GatekitError ? err : new GatekitError('INTERNAL', (err as Error)?.message ?? String(err));
    for (const answer of failureAnswers(message, e)) this.#io.write(answer);
    this.#io.say(`gatekit connect: ${e.message}`);
  }
}
