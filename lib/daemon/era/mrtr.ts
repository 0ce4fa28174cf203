import { randomBytes } from 'node:crypto';
import type { ResponseSink } from '../exchange.js';
import { admitAnswer, fromDaemon } from '../gate.js';
import { ERRORS, errorResponse } from '../jsonrpc.js';
import type { Session } from '../session.js';
import { statelessAnswer } from './answer.js';
import {
  INPUT_REQUESTS,
  META_CLIENT_CAPABILITIES,
  METHOD_NOT_FOUND,
  RETRYABLE_METHODS,
  isRequest,
  type RpcId,
  type RpcMessage,
  type RpcRequest,
} from '../../mcp/index.js';

/**
 * Multi round-trip requests (MCP 2026-07-28, SEP-2322) in front of a session-era child. When the child,
 * while serving a stateless request, sends a server request (sampling, elicitation, roots), the client's
 * request is answered with `resultType: "input_required"`, `inputRequests` keyed by ids the daemon picks
 * and an opaque `requestState`; the child's call stays pending. The client retries the same request with
 * `inputResponses` and that `requestState`; the responses go to the child as the JSON-RPC responses to
 * its requests, and the retry is answered with the child's final result or the next `input_required`.
 */

/** Client capabilities the daemon can relay as input requests, with the sub-capabilities the spec names. */
const RELAYED: Readonly<Record<string, readonly string[]>> = {
  sampling: ['context', 'tools'],
  elicitation: ['form', 'url'],
  roots: ['listChanged'],
};

/**
 * What the daemon declares when it initializes a pooled child for a 2026-07-28 request: of the request's own client
 * capabilities, those it relays (sampling, elicitation, roots) with their named sub-capabilities, so that the child
 * offers this client what it would offer it in the session era. Canonical (fixed order, `{}`/`true` values): a key
 * of the pool from a small, bounded set.
 */
export function childCapabilities(request: RpcMessage | undefined): Record<string, Record<string, unknown>> {
  const declared = request && 'method' in request ? capabilitiesOf(request as RpcRequest) : {};
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, subs] of Object.entries(RELAYED)) {
    const value = declared[name];
    if (typeof value !== 'object' || value === null) continue;
    const kept: Record<string, unknown> = {};
    for (const sub of subs) {
      const v = (value as Record<string, unknown>)[sub];
      if (v === true) kept[sub] = true;
      else if (typeof v === 'object' && v !== null) kept[sub] = {};
    }
    out[name] = kept;
  }
  return out;
}
/** Calls one person may have waiting for input at once; at the bound the child's request is refused. */
export const MAX_WAITING_PER_PERSON = 16;
/** How long a call waits for its retry; then the child's requests are refused and its call cancelled. */
export const WAITING_TTL_MS = 10 * 60_000;

/** One daemon's multi round-trip calls (its `ProcessState`): those waiting for a retry, and each round's exchange. */
export class WaitingCalls {
  /** requestState → the call waiting for that retry. One use each: every round issues a new one. */
  readonly byState = new Map<string, StatelessCall>();
  /** The call an HTTP exchange of the current round belongs to (to abandon it when the client goes away). */
  readonly byExchange = new WeakMap<ResponseSink, StatelessCall>();

  /** The call waiting for the retry that `requestState` names, if any. */
  waitingFor(requestState: string): StatelessCall | undefined {
    return this.byState.get(requestState);
  }

  /** The sink to abandon when the client of `exchange` goes away. */
  sinkOf(exchange: ResponseSink): ResponseSink {
    return this.byExchange.get(exchange) ?? exchange;
  }
}

const capabilitiesOf = (request: RpcRequest): Record<string, unknown> => {
  const meta = request.params?.['_meta'] as Record<string, unknown> | undefined;
  const caps = meta?.[META_CLIENT_CAPABILITIES];
  return typeof caps === 'object' && caps !== null ? (caps as Record<string, unknown>) : {};
};
export const nameOf = (request: RpcRequest): unknown => request.params?.['name'] ?? request.params?.['uri'];

/** One 2026-07-28 request on a pooled child, across its rounds; the Session sees it as the request's sink. */
export class StatelessCall implements ResponseSink {
  readonly session: Session;
  readonly sub: string;
  readonly method: string;
  readonly name: unknown;
  #exchange: ResponseSink | undefined;
  #clientId: RpcId;
  #capabilities: Record<string, unknown>;
  /** Input request id → the child's request id and the request as the client sees it. */
  readonly #asked = new Map<string, { childId: RpcId; request: Record<string, unknown> }>();
  #nextKey = 1;
  /** The child's answer when it came while the call waited for a retry. */
  #final: RpcMessage | undefined;
  #state: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #waiting: WaitingCalls;

  constructor(session: Session, request: RpcRequest, exchange: ResponseSink, sub: string, waiting: WaitingCalls) {
    this.session = session;
    this.#waiting = waiting;
    this.sub = sub;
    this.method = request.method;
    this.name = nameOf(request);
    this.#exchange = exchange;
    this.#clientId = request.id;
    this.#capabilities = capabilitiesOf(request);
    waiting.byExchange.set(exchange, this);
  }

  /** False while the call waits for a retry: no client is waiting on it (the hang watchdog skips it). */
  get open(): boolean {
    return this.#exchange?.open ?? false;
  }

  interim(message: RpcMessage): boolean {
    if (isRequest(message) && Object.hasOwn(INPUT_REQUESTS, message.method) && RETRYABLE_METHODS.has(this.method)) {
      this.#ask(message);
      return true;
    }
    return this.#exchange?.interim(message) ?? false;
  }

  respond(message: RpcMessage): void {
    const exchange = this.#exchange;
    if (!exchange) {
      // The child answered while the call waited for its retry: the retry gets it. A child that ended
      // cannot be resumed (the next request gets a new one), so its call stops counting toward the bound.
      this.#final = message;
      if (this.session.ended) this.#forgetState();
      return;
    }
    this.#exchange = undefined;
    this.#forgetState();
    exchange.respond(statelessAnswer(this.method)({ ...message, id: this.#clientId } as RpcMessage));
  }

  /** A retry with a valid requestState: its responses go to the child, its exchange waits for what follows. */
  resume(exchange: ResponseSink, request: RpcRequest, responses: Record<string, unknown>): void {
    this.#forgetState();
    this.#exchange = exchange;
    this.#clientId = request.id;
    this.#capabilities = capabilitiesOf(request);
    this.#waiting.byExchange.set(exchange, this);
    for (const [key, result] of Object.entries(responses)) {
      const asked = this.#asked.get(key);
      if (!asked) continue;
      this.#asked.delete(key);
      // The client's answer passes the gate like any response: to a request the child is still waiting on.
      const answer = admitAnswer(this.session, { jsonrpc: '2.0', id: asked.childId, result });
      if (answer) this.session.deliver(answer);
    }
    if (this.#final) return this.respond(this.#final);
    if (this.#asked.size > 0) this.#park();
  }

  #ask(message: RpcRequest): void {
    const capability = INPUT_REQUESTS[message.method]!;
    if (this.#capabilities[capability] === undefined) {
      const why = `the client did not declare the ${capability} capability`;
      return this.#refuse(message.id, METHOD_NOT_FOUND, why);
    }
    if (
      this.#state === undefined &&
      [...this.#waiting.byState.values()].filter((c) => c.sub === this.sub).length >= MAX_WAITING_PER_PERSON
    ) {
      const why = `${MAX_WAITING_PER_PERSON} calls already wait for this person's input`;
      return this.#refuse(message.id, ERRORS.INVALID_REQUEST, why);
    }
    const request = { method: message.method, ...(message.params !== undefined ? { params: message.params } : {}) };
    this.#asked.set(`gatekit-${this.#nextKey++}`, { childId: message.id, request });
    if (this.#exchange) this.#park();
  }

  /** The daemon answers the child's request itself, in the client's stead. */
  #refuse(childId: RpcId, code: number, why: string): void {
    if (this.session.takeAsked(childId)) this.session.deliver(fromDaemon(errorResponse(childId, code, why)));
  }

  /** Answers the current round with `input_required` and waits (bounded by WAITING_TTL_MS) for the retry. */
  #park(): void {
    const exchange = this.#exchange!;
    this.#exchange = undefined;
    const state = randomBytes(32).toString('base64url');
    this.#state = state;
    this.#waiting.byState.set(state, this);
    this.#timer = setTimeout(() => this.#expire(), WAITING_TTL_MS);
    this.#timer.unref();
    const inputRequests = Object.fromEntries([...this.#asked].map(([key, asked]) => [key, asked.request]));
    const result = { resultType: 'input_required', inputRequests, requestState: state };
    exchange.respond({ jsonrpc: '2.0', id: this.#clientId, result });
  }

  #forgetState(): void {
    if (this.#state !== undefined) this.#waiting.byState.delete(this.#state);
    this.#state = undefined;
    clearTimeout(this.#timer);
  }

  #expire(): void {
    this.#forgetState();
    for (const asked of this.#asked.values())
      this.#refuse(asked.childId, ERRORS.TIMEOUT, 'the client sent no input in time');
    this.#asked.clear();
    this.session.abandon(this, 'the client sent no input in time');
  }
}
