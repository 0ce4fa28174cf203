import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { connectBinding, type BrokerContext } from '../broker/index.js';
import { serverByName } from '../config/index.js';
import { GatekitError, isGatekitError } from '../errors.js';
import { DpopKey } from '../token/index.js';
import { sseEvents } from './sse.js';
import { TokenSource } from './tokens.js';
import { daemonEndpoint, header, send, type DaemonEndpoint, type DaemonResponse } from './transport.js';

type Message = Record<string, unknown>;

export interface ConnectIO {
  readonly stdin: Readable;
  /** One JSON-RPC message (or batch) per call; the bridge adds nothing else to stdout. */
  readonly write: (message: unknown) => void;
  readonly say: (line: string) => void;
}

const isRequest = (m: unknown): m is Message & { id: string | number; method: string } =>
  typeof m === 'object' &&
  m !== null &&
  !Array.isArray(m) &&
  typeof (m as Message)['method'] === 'string' &&
  (m as Message)['id'] !== undefined;

/**
 * `gatekit connect NAME`: a stdio MCP server that forwards every message to the daemon's
 * Streamable HTTP endpoint for NAME with a fresh token, and every answer and server-initiated
 * message back. It outlives daemon restarts (re-initialising with the client's own initialize) and
 * ended logins (the failing call carries a device-login URL and code).
 */
export class Bridge {
  readonly #endpoint: DaemonEndpoint;
  readonly #tokens: TokenSource;
  readonly #io: ConnectIO;
  /** This process's DPoP key (RFC 9449), when the server's tokens are bound to one; never leaves memory. */
  readonly #dpop: Promise<DpopKey> | undefined;
  #session: string | undefined;
  #protocol: string | undefined;
  #initialize: Message | undefined;
  #stream: AbortController | undefined;
  #closed = false;

  constructor(ctx: BrokerContext, serverName: string, io: ConnectIO) {
    const server = serverByName(ctx.config, serverName);
    this.#endpoint = daemonEndpoint(ctx.config, server);
    this.#dpop = connectBinding(ctx.config, server) === 'dpop' ? DpopKey.generate() : undefined;
    this.#tokens = new TokenSource(ctx, serverName, io.say, this.#dpop);
    this.#io = io;
  }

  /** Runs until stdin ends; then ends the daemon session. */
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
      // The initialize exchange is ordered; everything after it may run concurrently.
      const task = this.#forward(message);
      if (isRequest(message) && message.method === 'initialize') {
        await task;
        continue;
      }
      pending.add(task);
      void task.finally(() => pending.delete(task));
    }
    await Promise.allSettled(pending);
    await this.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stream?.abort();
    if (this.#session) {
      try {
        await (await this.#send('DELETE')).body.dump();
      } catch {
        /* the daemon ends idle sessions itself */
      }
    }
    await this.#endpoint.dispatcher.close();
  }

  async #forward(message: unknown): Promise<void> {
    try {
      const initializing = isRequest(message) && message.method === 'initialize';
      if (initializing) {
        this.#initialize = message;
        this.#session = undefined;
        this.#protocol = undefined;
      }
      let res = await this.#post(message);
      if (res.status === 404 && this.#session && !initializing) {
        await res.body.dump();
        await this.#reinitialize();
        res = await this.#post(message);
      }
      await this.#relay(res, initializing);
      if (!Array.isArray(message) && (message as Message)['method'] === 'notifications/initialized') this.#openStream();
    } catch (err) {
      this.#fail(message, err);
    }
  }

  /** POST with the current token; a 401 gets one retry with a newly minted token. */
  async #post(message: unknown): Promise<DaemonResponse> {
    const body = JSON.stringify(message);
    let res = await this.#send('POST', body, await this.#tokens.get());
    if (res.status === 401) {
      await res.body.dump();
      res = await this.#send('POST', body, await this.#tokens.get(true));
    }
    return res;
  }

  async #send(
    method: 'POST' | 'GET' | 'DELETE',
    body?: string,
    token?: string,
    signal?: AbortSignal,
  ): Promise<DaemonResponse> {
    const credential = token ?? (await this.#tokens.get());
    const key = await this.#dpop;
    const headers: Record<string, string> = {
      authorization: `${key ? 'DPoP' : 'Bearer'} ${credential}`,
      accept: method === 'GET' ? 'text/event-stream' : 'application/json, text/event-stream',
    };
    // RFC 9449 §7.1: a fresh proof for this very request (method, URL, token hash).
    if (key) headers['dpop'] = await key.proof(method, this.#endpoint.url, credential);
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#session) headers['mcp-session-id'] = this.#session;
    if (this.#protocol) headers['mcp-protocol-version'] = this.#protocol;
    return send(this.#endpoint, method, headers, body, signal);
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
    if (!quiet && isStepUp(value)) {
      void this.#stepUp(value);
      return;
    }
    if (!quiet) this.#io.write(value);
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
      text = `This tool needs a recent login (${rule}). ${(await this.#tokens.stepUp()).message}`;
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
    await this.#relay(await this.#post(replay), true, true);
    const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };
    await this.#relay(await this.#post(initialized), false, true);
    this.#openStream();
  }

  /** The GET stream carries server-initiated requests and notifications; reopened while the session lives. */
  #openStream(): void {
    this.#stream?.abort();
    const controller = new AbortController();
    this.#stream = controller;
    void (async () => {
      let delay = 250;
      while (!controller.signal.aborted && !this.#closed) {
        try {
          const res = await this.#send('GET', undefined, undefined, controller.signal);
          if (res.status === 405 || res.status === 404) {
            await res.body.dump();
            return;
          }
          if (res.status === 200) {
            delay = 250;
            for await (const event of sseEvents(res.body)) this.#deliver(event.data, false, false);
          } else await res.body.dump();
        } catch (err) {
          if (controller.signal.aborted) return;
          if (isGatekitError(err, 'LOGIN_REQUIRED')) return;
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    })();
  }

  #fail(message: unknown, err: unknown): void {
    const e = err instanceof GatekitError ? err : new GatekitError('INTERNAL', (err as Error)?.message ?? String(err));
    const requests = (Array.isArray(message) ? message : [message]).filter(isRequest);
    if (!requests.length) return this.#io.say(`gatekit connect: ${e.message}`);
    for (const request of requests) {
      if (isGatekitError(e, 'LOGIN_REQUIRED') && request.method === 'tools/call') {
        this.#io.write({
          jsonrpc: '2.0',
          id: request.id,
          result: { content: [{ type: 'text', text: e.message }], isError: true },
        });
      } else {
        this.#io.write({
          jsonrpc: '2.0',
          id: request.id,
          error: { code: e.code === 'LOGIN_REQUIRED' ? -32001 : -32000, message: e.message },
        });
      }
    }
    this.#io.say(`gatekit connect: ${e.message}`);
  }
}

function isStepUp(value: unknown): value is Message {
  const error = (value as Message | null)?.['error'] as Message | undefined;
  const data = error?.['data'] as Message | undefined;
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    error?.['code'] === -32003 &&
    data?.['error'] === 'insufficient_user_authentication'
  );
}

function refusal(status: number, body: string, authenticate: string | undefined): GatekitError {
  let detail = '';
  try {
    detail = String(((JSON.parse(body) as Message)['error'] as Message | undefined)?.['message'] ?? '');
  } catch {
    /* not JSON */
  }
  const described = /error_description="([^"]*)"/.exec(authenticate ?? '')?.[1];
  const why = detail || described || `HTTP ${status}`;
  if (status === 401) return new GatekitError('TOKEN_INVALID', `the daemon refused the token: ${why}`);
  if (status === 403) return new GatekitError('POLICY_DENIED', `the daemon refused: ${why}`);
  return new GatekitError('DAEMON_UNREACHABLE', `the daemon answered ${status}: ${why}`);
}
