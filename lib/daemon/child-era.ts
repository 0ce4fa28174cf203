import type { ServerConfig } from '../config/index.js';
import { ERRORS, errorResponse } from './jsonrpc.js';
import { InputRounds } from './child-era-rounds.js';
import { SessionListen } from './child-era-listen.js';
import {
  CHILD_SESSION_VERSION,
  META_CLIENT_CAPABILITIES,
  META_CLIENT_INFO,
  META_PROTOCOL_VERSION,
  META_SERVER_INFO,
  METHOD_NOT_FOUND,
  SESSION_VERSIONS,
  LOG_LEVELS,
  META_LOG_LEVEL,
  STATELESS_VERSION,
  isNotification,
  isRequest,
  isResponse,
  type RpcMessage,
  type RpcRequest,
} from '../mcp/index.js';

/**
 * Which MCP era a stdio child speaks. "probing": the `server/discover` probe is out, messages wait;
 * "native": it answered with 2026-07-28 among its `supportedVersions`; "session": anything else.
 * @see https://modelcontextprotocol.io/specification/draft/basic/lifecycle (SEP-2575: probe with server/discover)
 */
export type ChildEra = 'probing' | 'session' | 'native';

const PROBE_ID = 'gatekit/probe';
const DAEMON_INFO = { name: 'gatekit-daemon', version: '1' };

const serverKey = (server: ServerConfig): string => JSON.stringify([server.name, server.command, server.cwd]);

/**
 * Each server's last probe verdict, so that only its first child pays for the probe when it speaks the
 * session era. A native child is still probed each time: its discover result answers `initialize`.
 * One per daemon (its SessionRegistry); a one-off child (doctor, `tools pin`) has its own.
 */
export class EraVerdicts {
  readonly #byServer = new Map<string, 'session' | 'native'>();

  /** Whether `server`'s last child answered the probe as native (2026-07-28 itself): its children read each
   * request's own client capabilities, so one pooled child serves every set of them. */
  speaksNatively(server: ServerConfig): boolean {
    return this.#byServer.get(serverKey(server)) === 'native';
  }

  get(key: string): 'session' | 'native' | undefined {
    return this.#byServer.get(key);
  }
  set(key: string, era: 'session' | 'native'): void {
    this.#byServer.set(key, era);
  }
  delete(key: string): void {
    this.#byServer.delete(key);
  }
}

/**
 * Between one child's stdio and its Session: decides the child's era with a `server/discover` probe
 * before anything else reaches it, and towards a native child speaks 2026-07-28 on the Session's behalf.
 * The Session keeps speaking as it always did: an `initialize` is answered here from the child's discover
 * result (the child never sees one), `notifications/initialized` goes no further, and every request gets
 * the 2026-07-28 envelope in `_meta` (version, and the client info and capabilities of that `initialize`)
 * under any envelope keys the request carries itself; the version is always 2026-07-28. Results pass back
 * with `cacheScope` made "private" (`ttlMs` 0) wherever the child set one; `resultType`/`ttlMs`/`cacheScope`
 * stay, as extra keys a session-era client ignores (the v1 SDK's result schemas are loose objects).
 */
export class ChildEraBridge {
  era: ChildEra;
  /** The native child's own `server/discover` result. */
  discovered: Record<string, unknown> | undefined;
  readonly #key: string;
  readonly #verdicts: EraVerdicts;
  readonly #write: (message: unknown) => void;
  readonly #deliver: (message: unknown) => void;
  readonly #held: unknown[] = [];
  #envelope: Record<string, unknown> = {
    [META_PROTOCOL_VERSION]: STATELESS_VERSION,
    [META_CLIENT_INFO]: DAEMON_INFO,
    [META_CLIENT_CAPABILITIES]: {},
  };

  /** A session-era client's child: its own `initialize` is tried first (see #toNative). */
  readonly #sessionClient: boolean;
  /** The id of that `initialize` while the child has not answered it. */
  #tryingInitialize: { id: unknown; request: RpcRequest } | undefined;
  #triedInitialize = false;
  /** A session-era client's child: its `input_required` answers become server requests (child-era-rounds.ts). */
  readonly #rounds: InputRounds | undefined;
  /** A session-era client's child: the daemon's own listen for its change notifications (child-era-listen.ts). */
  readonly #listen: SessionListen | undefined;

  constructor(
    server: ServerConfig,
    write: (message: unknown) => void,
    deliver: (message: unknown) => void,
    sessionClient = false,
    verdicts: EraVerdicts = new EraVerdicts(),
  ) {
    this.#key = serverKey(server);
    this.#verdicts = verdicts;
    this.#write = write;
    this.#deliver = deliver;
    this.#sessionClient = sessionClient;
    this.#rounds = sessionClient ? new InputRounds() : undefined;
    this.#listen = sessionClient
      ? new SessionListen({
          write,
          deliver,
          envelope: () => this.#envelope,
          capabilities: () => (this.discovered?.['capabilities'] ?? {}) as Record<string, undefined>,
        })
      : undefined;
    if (verdicts.get(this.#key) === 'session') {
      this.era = 'session';
      return;
    }
    this.era = 'probing';
    write({ jsonrpc: '2.0', id: PROBE_ID, method: 'server/discover', params: { _meta: this.#envelope } });
  }

  /** A message from the Session to the child. */
  send(message: unknown): void {
    if (this.era === 'native' && this.#rounds?.fromClient(message, this.#write, this.#deliver)) return;
    if (this.era === 'probing' || this.#tryingInitialize) this.#held.push(message);
    else if (this.era === 'session') this.#write(message);
    else this.#toNative(message);
  }

  /** The session-era client's GET stream opened or closed. */
  streaming(open: boolean): void {
    this.#listen?.streaming(open);
  }

  /** A message from the child; false when the Session does not see it (the probe's answer, a listen's own words). */
  receive(message: unknown): boolean {
    if (this.era === 'native' && this.#listen?.receive(message)) return false;
    if (!isResponse(message)) return true;
    if (this.#tryingInitialize && message.id === this.#tryingInitialize.id) return this.#initializeAnswered(message);
    if (message.id !== PROBE_ID) {
      if (this.era === 'native' && this.#rounds?.fromChild(message, this.#deliver)) return false;
      // Every answer is made for one person: none leaves the daemon marked for a shared cache (SEP-2549).
      const result = message.result as Record<string, unknown> | undefined;
      if (this.era === 'native' && typeof result === 'object' && result !== null && 'cacheScope' in result)
        Object.assign(result, { ttlMs: 0, cacheScope: 'private' });
      return true;
    }
    const result = 'result' in message ? (message.result as Record<string, unknown> | undefined) : undefined;
    const versions = result?.['supportedVersions'];
    const native = Array.isArray(versions) && versions.includes(STATELESS_VERSION);
    if (this.era === 'probing') this.#settle(native ? 'native' : 'session', native ? result : undefined);
    // An answer after the probe was abandoned: this child stays session-era, the server's next one is probed.
    else if (native) this.#verdicts.delete(this.#key);
    return false;
  }

  /**
   * The child has not answered the probe (a session-era server may ignore requests before `initialize`):
   * treat it as session-era. The registry calls this after half of `start_timeout` of silence.
   */
  abandonProbe(): void {
    if (this.era === 'probing') this.#settle('session', undefined);
  }

  #settle(era: 'session' | 'native', discovered: Record<string, unknown> | undefined): void {
    this.era = era;
    this.discovered = discovered;
    this.#verdicts.set(this.#key, era);
    for (const message of this.#held.splice(0)) this.send(message);
  }

  #toNative(message: unknown): void {
    if (isNotification(message) && message.method === 'notifications/initialized') return;
    if (!isRequest(message)) return this.#write(message);
    if (message.method === 'initialize' && this.#sessionClient && !this.#triedInitialize) {
      // A child that speaks both eras serves a session-era client in its own session era (server requests,
      // notifications and all); one that refuses `initialize` gets the translation below.
      this.#triedInitialize = true;
      this.#tryingInitialize = { id: message.id, request: message };
      return this.#write(message);
    }
    if (this.#listen?.take(message)) return;
    const answer = message.method === 'initialize' ? this.#initialized(message) : this.#sessionWord(message);
    // As a child's answer would: after the Session has finished sending.
    if (answer) return queueMicrotask(() => this.#deliver(answer));
    // A 2026-07-28 client's own envelope is kept; the version is always the one the child was probed with.
    const meta = (message.params?.['_meta'] ?? {}) as Record<string, unknown>;
    const envelope = { ...this.#envelope, ...meta, [META_PROTOCOL_VERSION]: STATELESS_VERSION };
    const request = { ...message, params: { ...message.params, _meta: envelope } };
    this.#rounds?.sent(request);
    this.#write(request);
  }

  /**
   * A session-era client's `ping` and `logging/setLevel`, which 2026-07-28 removed, answered here: the level goes into
   * the envelope of every later request (`io.modelcontextprotocol/logLevel`). Anything else: undefined.
   */
  #sessionWord(request: RpcRequest): RpcMessage | undefined {
    if (!this.#sessionClient) return undefined;
    if (request.method === 'ping') return { jsonrpc: '2.0', id: request.id, result: {} };
    if (request.method !== 'logging/setLevel') return undefined;
    const level = request.params?.['level'];
    const caps = (this.discovered?.['capabilities'] ?? {}) as Record<string, unknown>;
    if (!caps['logging']) return errorResponse(request.id, METHOD_NOT_FOUND, 'Method not found');
    if (typeof level !== 'string' || !LOG_LEVELS.has(level))
      return errorResponse(request.id, ERRORS.INVALID_PARAMS, 'params.level must be a logging level');
    this.#envelope = { ...this.#envelope, [META_LOG_LEVEL]: level };
    return { jsonrpc: '2.0', id: request.id, result: {} };
  }

  /** The child's answer to a session-era client's own `initialize`: a result makes this child session-era. */
  #initializeAnswered(message: RpcMessage): boolean {
    const { request } = this.#tryingInitialize!;
    this.#tryingInitialize = undefined;
    if ('result' in message) this.era = 'session';
    else queueMicrotask(() => this.#deliver(this.#initialized(request)));
    for (const held of this.#held.splice(0)) this.send(held);
    return 'result' in message;
  }

  /** The `initialize` result a session-era client gets, made from the child's discover result. */
  #initialized(request: RpcRequest): RpcMessage {
    const params = request.params ?? {};
    this.#envelope = {
      [META_PROTOCOL_VERSION]: STATELESS_VERSION,
      [META_CLIENT_INFO]: params['clientInfo'] ?? DAEMON_INFO,
      [META_CLIENT_CAPABILITIES]: params['capabilities'] ?? {},
    };
    const asked = params['protocolVersion'];
    const found = this.discovered ?? {};
    // A session-era server logs everything until the client sets a level; at 2026-07-28 only what a request asks for
    // (a pooled child's stateless clients say so in their own envelopes: no default for them).
    if (this.#sessionClient && (found['capabilities'] as Record<string, unknown> | undefined)?.['logging'])
      this.#envelope[META_LOG_LEVEL] = 'debug';
    const serverInfo = (found['_meta'] as Record<string, unknown> | undefined)?.[META_SERVER_INFO];
    this.#listen?.enable();
    const result = {
      protocolVersion: typeof asked === 'string' && SESSION_VERSIONS.has(asked) ? asked : CHILD_SESSION_VERSION,
      capabilities: found['capabilities'] ?? {},
      serverInfo: serverInfo ?? { name: 'unknown', version: '0' },
      ...(typeof found['instructions'] === 'string' ? { instructions: found['instructions'] } : {}),
    };
    return { jsonrpc: '2.0', id: request.id, result };
  }
}
