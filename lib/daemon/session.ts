import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { argumentsDigest, auditLine, resultLine, type AuditEvent, type TraceContext } from '../audit/index.js';
import type { ServerConfig } from '../config/index.js';
import type { ChildCgroups } from './cgroup.js';
import { McpChild } from './child.js';
import type { EraVerdicts } from './child-era.js';
import type { ResponseSink } from './exchange.js';
import { fromDaemon, stamp, type Admitted } from './gate.js';
import { ERRORS, errorResponse, withClientId } from './jsonrpc.js';
import {
  isNotification,
  isRequest,
  isResponse,
  META_SUBSCRIPTION_ID,
  type RpcId,
  type RpcMessage,
  type RpcRequest,
} from '../mcp/index.js';
import type { Pending, ResultFilter } from './pending.js';
import { exitWords } from './stderr-record.js';
import { writeSseMessage } from './sse.js';
import { toolListFilter } from './tool-gate.js';
import { ToolHeaders } from './tool-headers.js';
import { PinWatch } from './pin-watch.js';
import { TaskLedger, type OwnedTask } from './tasks.js';
import type { ServerPins } from '../pins/index.js';
import type { Person } from '../person.js';

const OUTBOX_MAX = 256;
/** Answers tasks.ts reads: a tools/call may create a task, a tasks/* request shows one. */
const TASKISH = /^t(?:ools\/call|asks\/)/;

/** Unanswered requests of a child to its client that keep it from being taken as hung (oldest forgotten first). */
const ASKED_MAX = 64;
/**
 * One MCP session: its own child process, owned by the identity that opened it. Client request
 * ids are replaced by session-unique ones on the way in (several POSTs may reuse an id) and
 * restored on the way out; progress goes to the POST that asked for it, other server-initiated
 * messages to the GET stream, or, while none is open, on the SSE answer of a pending POST (queued
 * briefly when there is neither).
 * @see https://modelcontextprotocol.io/specification/2025-06-18/basic/transports#sending-messages-to-the-server
 */
export class Session {
  readonly id = randomBytes(16).toString('base64url');
  readonly server: ServerConfig;
  readonly owner: Person;
  readonly child: McpChild;
  /** "stateless": a pooled child serving 2026-07-28 requests (lib/daemon/era), no client-visible session. */
  readonly era: 'session' | 'stateless';
  /** Where lib/daemon/era/listen.ts takes a pooled child's change notifications (true: taken). */
  tap: { message(message: RpcMessage): boolean; ended(): void } | undefined;
  /** The child's tools against the server's pins in gatekit.lock (pin-watch.ts). */
  readonly pins: PinWatch;
  /**
   * Which resources the person may hear are updated (resource-gate.ts `resourceFilter`), as of their latest request
   * or stream on this child; undefined: every one (the server governs no resources).
   */
  readable: ((uri: unknown) => boolean) | undefined;
  /** The tasks this child created, bound to this session's person, server and child (tasks.ts). */
  readonly tasks: TaskLedger;
  /** A pooled child's SEP-2243 header declarations, from its own tools/list answers (tool-headers.ts). */
  readonly toolHeaders = new ToolHeaders();
  lastUsed = Date.now();
  #ended = false;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #progress = new Map<string | number, ResponseSink>();
  /** Ids of the child's requests to the client still unanswered (sampling, elicitation, roots); at most ASKED_MAX. */
  readonly #asked = new Set<RpcId>();
  #stream: ServerResponse | undefined;
  readonly #outbox: RpcMessage[] = [];
  readonly #audit: (event: AuditEvent) => void;
  readonly #onEnd: (session: Session) => void;

  constructor(
    server: ServerConfig,
    owner: Person,
    audit: (event: AuditEvent) => void,
    onEnd: (session: Session) => void,
    era: 'session' | 'stateless' = 'session',
    cgroups?: ChildCgroups,
    pins: () => ServerPins | undefined = () => undefined,
    verdicts?: EraVerdicts,
  ) {
    this.server = server;
    this.era = era;
    this.owner = owner;
    this.#audit = audit;
    this.pins = new PinWatch(server, pins, audit, { session: this.id, era, owner });
    this.tasks = new TaskLedger({ server: server.name, session: this.id, era, who: owner, audit });
    this.#onEnd = onEnd;
    this.child = new McpChild(
      server,
      owner,
      {
        onMessage: (message, line) => this.#fromChild(message, line),
        onExit: (code, signal, explanation) => {
          if (this.#ended) return;
          this.#audit(auditLine.serverExit(server.name, this.id, owner, code, signal ?? undefined, explanation));
          const why = `the MCP server ${exitWords(code, signal)}${explanation ? `: ${explanation}` : ''}`;
          process.stderr.write(`gatekit daemon: ${server.name} (session ${this.id.slice(0, 8)}): ${why}\n`);
          void this.end(why);
        },
      },
      era === 'session',
      cgroups,
      verdicts,
    );
  }

  get ended(): boolean {
    return this.#ended;
  }
  get pendingCount(): number {
    return this.#pending.size;
  }
  /** When (Date.now()) the oldest unanswered request came in, for the hang watchdog. */
  /** The child asked its client something (sampling, elicitation, roots) and waits for the answer. */
  get waitingForClient(): boolean {
    return this.#asked.size > 0;
  }

  get oldestPending(): number | undefined {
    let oldest: number | undefined;
    for (const p of this.#pending.values()) {
      // A call waiting for its client's input (lib/daemon/era/mrtr.ts) is not the child hanging.
      if (p.exchange.open && (oldest === undefined || p.since < oldest)) oldest = p.since;
    }
    return oldest;
  }

  /** Passes a request the gate admitted (gate.ts) to the child; its response will go to `exchange`. */
  forward(
    request: Admitted<RpcRequest>,
    exchange: ResponseSink,
    caller: Person,
    results?: ResultFilter,
    trace?: TraceContext,
  ): void {
    this.lastUsed = Date.now();
    const childId = this.#nextId++;
    const params = request.params;
    const progressToken = (params?.['_meta'] as { progressToken?: string | number } | undefined)?.progressToken;
    const tool = request.method === 'tools/call' && typeof params?.['name'] === 'string' ? params['name'] : undefined;
    const args = this.server.audit_arguments && tool ? params?.['arguments'] : undefined;
    const pending: Pending = {
      id: request.id,
      exchange,
      started: performance.now(),
      since: Date.now(),
      method: request.method,
      tool,
      caller,
      results,
      progressToken,
      arguments: args,
      trace,
      argsDigest: request.method === 'tools/call' ? argumentsDigest(params?.['arguments']) : undefined,
    };
    // Ended while the request waited (e.g. its body was still arriving): answered now, never hung, and audited.
    if (this.#ended) {
      exchange.respond(errorResponse(request.id, ERRORS.SERVER_GONE, 'session ended'));
      return this.#logResult(pending, 'error', 'session ended');
    }
    this.#pending.set(childId, pending);
    if (progressToken !== undefined) this.#progress.set(progressToken, exchange);
    this.child.send(stamp(request, childId, this.server.identity_meta ? caller : undefined, trace));
  }

  /** A notification or a response to a server request the gate admitted (gate.ts): straight through. */
  deliver(message: Admitted): void {
    this.lastUsed = Date.now();
    this.child.send(message);
  }

  /** The child's id of this client's request still pending there, if any (a cancellation goes to it). */
  childIdOf(clientId: unknown): number | undefined {
    for (const [childId, p] of this.#pending) if (p.id === clientId) return childId;
    return undefined;
  }

  /** Why the pins refuse a call of `tool` on this child (gate.ts), or undefined. */
  pinRefusal(tool: string): string | undefined {
    return this.pins.refusal(tool);
  }

  /** Why the pins refuse every gated request of this child (pin-watch.ts `taint`), or undefined. */
  get taint(): string | undefined {
    return this.pins.taint;
  }

  /** A task this child created for this session's person (the gate's test for tasks/*, tasks-gate.ts). */
  task(taskId: string): OwnedTask | undefined {
    return this.tasks.get(taskId);
  }

  /** Whether the child asked the client something under `id` and waits for the answer; true once per request. */
  takeAsked(id: RpcId): boolean {
    return this.#asked.delete(id);
  }

  get hasStream(): boolean {
    return this.#stream !== undefined && !this.#stream.destroyed;
  }

  /** The GET stream for server-initiated messages; one at a time (the caller checks hasStream). */
  openStream(res: ServerResponse): void {
    this.#stream = res;
    this.child.streaming(true);
    res.on('close', () => {
      if (this.#stream !== res) return;
      this.#stream = undefined;
      this.child.streaming(false);
    });
    for (const message of this.#outbox.splice(0)) this.#toClient(message);
  }

  /** Abandons what `exchange` was waiting for (the client went away): tell the child, log it. */
  abandon(exchange: ResponseSink, reason = 'client disconnected'): void {
    for (const [childId, p] of this.#pending) {
      if (p.exchange !== exchange) continue;
      this.#pending.delete(childId);
      this.child.send(
        fromDaemon({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: childId, reason } }),
      );
      this.#logResult(p, 'error', reason);
    }
  }

  async end(reason: string): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    for (const [childId, p] of this.#pending) {
      this.#pending.delete(childId);
      p.exchange.respond(errorResponse(p.id, ERRORS.SERVER_GONE, `session ended: ${reason}`));
      this.#logResult(p, 'error', reason);
    }
    this.#stream?.end();
    this.tap?.ended();
    this.#onEnd(this);
    this.#audit(auditLine.sessionEnd(this.server.name, this.id, this.era, this.owner, reason));
    await this.child.stop();
  }

  #fromChild(message: unknown, line: string): void {
    if (isResponse(message) && typeof message.id === 'number') {
      const p = this.#pending.get(message.id);
      if (!p) return;
      this.#pending.delete(message.id);
      if (p.progressToken !== undefined) this.#progress.delete(p.progressToken);
      // A pooled child's own tool list: the Mcp-Param-* headers of 2026-07-28 calls are checked by it.
      let results = p.results;
      if (p.method === 'tools/list') {
        if (this.era === 'stateless') this.toolHeaders.note(message.result);
        const hidden = this.pins.note(message.result);
        if (hidden.size > 0) results = withoutTools(hidden, p.results);
      }
      // A task it creates or shows is bound to this session; a tasks/list keeps only those (tasks.ts).
      const answer = TASKISH.test(p.method) ? this.tasks.answered(p.method, p.tool, message as RpcMessage) : message;
      const text = results || answer !== message ? undefined : withClientId(line, message.id, p.id);
      if (text === undefined || !p.exchange.respondText?.(text, message as RpcMessage)) {
        const shown = results && 'result' in answer ? { result: results(answer.result) } : {};
        p.exchange.respond({ ...answer, id: p.id, ...shown } as RpcMessage);
      }
      this.#logResult(p, message.error ? 'error' : 'ok', message.error?.message);
      return;
    }
    if (message === undefined || typeof message !== 'object') return;
    if (isRequest(message)) {
      if (this.#asked.size >= ASKED_MAX) this.#asked.delete(this.#asked.values().next().value!);
      this.#asked.add(message.id);
    }
    const notification = isNotification(message);
    // An update of a resource the person may not read is not theirs to hear of, on any stream or answer.
    if (
      notification &&
      message.method === 'notifications/resources/updated' &&
      this.readable?.(message.params?.['uri']) === false
    )
      return;
    // A task's notification only for a task of this child's person (a child may know every task of its server).
    if (notification && !this.tasks.notified(message.method, message.params)) return;
    if (notification && message.method === 'notifications/tools/list_changed') {
      this.toolHeaders.forget();
      this.pins.forget();
    }
    // A native child's listen stamps what it sends with the listen request's id (era/native-listen.ts).
    const meta = notification ? (message.params?.['_meta'] as Record<string, unknown> | undefined) : undefined;
    const subscription = meta?.[META_SUBSCRIPTION_ID];
    if (typeof subscription === 'number' && this.#pending.get(subscription)?.exchange.interim(message as RpcMessage))
      return;
    const token = notification ? (message.params?.['progressToken'] as string | number | undefined) : undefined;
    const exchange = token !== undefined ? this.#progress.get(token) : undefined;
    if (exchange?.interim(message as RpcMessage)) return;
    this.#toClient(message as RpcMessage);
  }

  /**
   * A server request or notification: on the GET stream; without one, on the SSE answer of the
   * newest pending POST that accepts a stream (stdio does not say which request a server request
   * belongs to, and a client that never opens GET must still see it, or its call hangs).
   */
  #toClient(message: RpcMessage): void {
    if (this.tap?.message(message)) return;
    if (this.#stream && !this.#stream.destroyed) return writeSseMessage(this.#stream, message);
    const pending = [...this.#pending.values()];
    for (let i = pending.length - 1; i >= 0; i--) if (pending[i]!.exchange.interim(message)) return;
    this.#outbox.push(message);
    if (this.#outbox.length > OUTBOX_MAX) this.#outbox.shift();
  }

  #logResult(p: Pending, outcome: 'ok' | 'error', error?: string): void {
    const duration = Math.round((performance.now() - p.started) * 100) / 100;
    this.#audit(resultLine(this.server.name, this.era, this.id, p, outcome, error, duration));
  }
}

/** The pins' hidden tools (pin-watch.ts) out of a tools/list result, before what the gate hides. */
function withoutTools(hidden: ReadonlySet<string>, then: ResultFilter | undefined): ResultFilter {
  const unpinned = toolListFilter((name) => !hidden.has(name));
  return then ? (result) => then(unpinned(result)) : unpinned;
}
