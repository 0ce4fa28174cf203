import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { argumentsDigest, nextTrace, parseTraceparent, type AuditEvent, type TraceContext } from '../audit/index.js';
import type { Config, ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { isToolAllowed, type RateLimiter } from '../policy/index.js';
import type { TrustedKeys, VerifiedTokenCache } from '../token/index.js';
import { authenticate, challenge, isRefusal, type Authenticated, type Refusal } from './auth.js';
import {
  claimsStatelessVersion,
  classifyEra,
  discover,
  poolFor,
  statelessAnswer,
  statelessStatus,
  toChildRequest,
  type PooledChild,
} from './era/index.js';
import { Exchange } from './exchange.js';
import { ERRORS, errorResponse, isRequest, isValidMessage, type RpcMessage } from './jsonrpc.js';
import { allowedHosts, allowedOrigins, metadataUrl, protectedResourceMetadata } from './origin.js';
import type { SessionRegistry } from './registry.js';
import type { Caller, Session } from './session.js';
import { SSE_HEADERS } from './sse.js';
import { gateToolCall } from './tool-gate.js';

/** What every listener shares; replaced as a whole on SIGHUP. */
export interface DaemonState {
  readonly config: Config;
  readonly keys: TrustedKeys;
  readonly cache: VerifiedTokenCache;
  readonly sessions: SessionRegistry;
  readonly audit: (event: AuditEvent) => void;
  /** Why the audit log cannot be written (each call retries), or undefined: then every request is refused. */
  readonly auditFailure: () => string | undefined;
  /** `rate` rules' buckets (lib/policy/rate.ts), kept across reloads. */
  readonly limiter: RateLimiter;
  /** The rules' clock, in milliseconds. */
  readonly now: () => number;
}

export const PROTOCOL_VERSIONS = new Set([
  '2026-07-28',
  '2025-11-25',
  '2025-06-18',
  '2025-03-26',
  '2024-11-05',
  '2024-10-07',
]);
const BATCH_VERSIONS = new Set(['2025-03-26', '2024-11-05', '2024-10-07']);

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

function rpcError(
  res: ServerResponse,
  status: number,
  message: string,
  headers?: Record<string, string>,
  code: number = ERRORS.INVALID_REQUEST,
): void {
  sendJson(res, status, errorResponse(null, code, message), headers);
}

/** The HTTP side of one server's listener: /mcp (Streamable HTTP), RFC 9728 metadata, /healthz. */
export function mcpHandler(name: string, state: () => DaemonState): RequestListener {
  return (req, res) => {
    handle(name, state(), req, res).catch((err: unknown) => {
      process.stderr.write(`gatekit daemon: internal error on ${name}: ${(err as Error)?.stack ?? err}\n`);
      if (!res.headersSent) rpcError(res, 500, 'internal error', undefined, ERRORS.INTERNAL);
      else res.destroy();
    });
  };
}

async function handle(name: string, state: DaemonState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const server = state.config.servers.get(name);
  const path = (req.url ?? '/').split('?')[0];
  if (!server) return rpcError(res, 503, `server "${name}" is no longer configured`);
  // Fail closed (docs/security.md, audit): nothing is served that cannot be audited; the cause is on the daemon's stderr.
  if (state.auditFailure() !== undefined) {
    return rpcError(
      res,
      503,
      'the audit log cannot be written: refusing requests rather than serving them unaudited',
      { 'retry-after': '1' },
      ERRORS.INTERNAL,
    );
  }
  if (path === '/healthz' && req.method === 'GET') return sendJson(res, 200, { status: 'ok', server: name });
  if (!allowedHosts(server).has(req.headers.host ?? ''))
    return refuse(state, server, req, res, 403, "Host header is not this listener's loopback name");
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedOrigins(server).has(origin))
    return refuse(state, server, req, res, 403, 'foreign Origin');
  if (path === '/.well-known/oauth-protected-resource' || path === '/.well-known/oauth-protected-resource/mcp') {
    return sendJson(res, 200, protectedResourceMetadata(state.config, server));
  }
  if (path !== '/mcp') return refuse(state, server, req, res, 404, 'not found: the MCP endpoint is /mcp');

  let auth: Authenticated;
  try {
    auth = await authenticate(req, state.config, server, state.keys, state.cache);
  } catch (err) {
    if (!isRefusal(err)) throw err;
    return refuseAuth(state, server, req, res, err);
  }
  const caller: Caller = {
    user: auth.admission.user,
    sub: auth.claims.sub,
    jti: auth.claims.jti,
    groups: auth.claims.groups ?? [],
  };
  const version = req.headers['mcp-protocol-version'];
  const isJudgedOnBody = req.method === 'POST' && typeof version === 'string' && claimsStatelessVersion(version);
  if (typeof version === 'string' && !PROTOCOL_VERSIONS.has(version) && !isJudgedOnBody) {
    return refuse(state, server, req, res, 400, `unsupported MCP-Protocol-Version "${version.slice(0, 40)}"`, caller);
  }
  const sessionId = req.headers['mcp-session-id'];
  let session: Session | undefined;
  if (typeof sessionId === 'string') {
    session = state.sessions.get(sessionId);
    if (!session || session.ended || session.era !== 'session' || session.server.name !== name)
      return refuse(state, server, req, res, 404, 'unknown or ended session; start a new one with initialize', caller);
    if (session.owner.sub !== caller.sub)
      return refuse(state, server, req, res, 403, 'this session belongs to another identity', caller, 'denied');
  }

  if (req.method === 'POST')
    return post(state, server, req, res, auth, caller, session, typeof version === 'string' ? version : undefined);
  if (req.method === 'GET') {
    if (!session) return refuse(state, server, req, res, 400, 'GET /mcp needs an Mcp-Session-Id', caller);
    if (!String(req.headers.accept ?? '').includes('text/event-stream'))
      return refuse(state, server, req, res, 406, 'GET /mcp must accept text/event-stream', caller);
    if (session.hasStream)
      return refuse(state, server, req, res, 409, 'this session already has a GET stream open', caller);
    res.writeHead(200, SSE_HEADERS);
    res.flushHeaders();
    session.openStream(res);
    return audit(state, server, caller, { method: 'GET', outcome: 'ok', session: session.id });
  }
  if (req.method === 'DELETE') {
    if (!session) return refuse(state, server, req, res, 400, 'DELETE /mcp needs an Mcp-Session-Id', caller);
    await session.end('closed by the client');
    res.writeHead(204).end();
    return;
  }
  res.setHeader('allow', 'GET, POST, DELETE');
  return refuse(state, server, req, res, 405, `method ${req.method} not allowed`, caller);
}

async function post(
  state: DaemonState,
  server: ServerConfig,
  req: IncomingMessage,
  res: ServerResponse,
  auth: Authenticated,
  caller: Caller,
  existing: Session | undefined,
  version: string | undefined,
): Promise<void> {
  if (!String(req.headers['content-type'] ?? '').includes('application/json'))
    return refuse(state, server, req, res, 415, 'Content-Type must be application/json', caller);
  let body: string;
  try {
    body = await readBody(req, state.config.daemon.limits.max_body_bytes);
  } catch (err) {
    return refuse(
      state,
      server,
      req,
      res,
      (err as GatekitError).code === 'LIMIT_EXCEEDED' ? 413 : 400,
      (err as Error).message,
      caller,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    audit(state, server, caller, { outcome: 'error', error: 'parse error' });
    return rpcError(res, 400, 'Parse error: the body is not JSON', undefined, ERRORS.PARSE);
  }
  const batch = Array.isArray(parsed);
  const messages = (batch ? parsed : [parsed]) as unknown[];
  if (batch && (messages.length === 0 || !BATCH_VERSIONS.has(version ?? '2025-03-26')))
    return refuse(state, server, req, res, 400, 'JSON-RPC batches are not allowed for this protocol version', caller);
  if (!messages.every(isValidMessage))
    return refuse(state, server, req, res, 400, 'Invalid Request: not JSON-RPC 2.0 messages', caller);
  // Era dispatch (lib/daemon/era): headers checked against the parsed body before anything else.
  const era = classifyEra(req.headers, messages, batch);
  if (!era.ok) {
    const fields = { era: era.era, method: 'POST', outcome: 'error', error: era.message, rpc_code: era.code } as const;
    audit(state, server, caller, fields);
    return sendJson(res, era.status, errorResponse(era.id, era.code, era.message, era.data));
  }

  const initialize = messages.find((m) => isRequest(m) && m.method === 'initialize');
  let session = existing;
  let pooled: PooledChild | undefined;
  const headers: Record<string, string> = {};
  if (era.era === 'stateless') {
    try {
      pooled = await poolFor(state.sessions).acquire(server, caller, state.config.daemon.limits);
    } catch (err) {
      if ((err as GatekitError).code !== 'LIMIT_EXCEEDED') throw err;
      return refuse(state, server, req, res, 429, (err as Error).message, caller);
    }
    session = pooled.session;
  } else if (initialize) {
    if (existing || messages.length > 1)
      return refuse(state, server, req, res, 400, 'initialize must be sent alone, without an Mcp-Session-Id', caller);
    try {
      session = state.sessions.open(
        server,
        { user: caller.user, sub: caller.sub, groups: caller.groups },
        state.config.daemon.limits,
      );
    } catch (err) {
      if ((err as GatekitError).code !== 'LIMIT_EXCEEDED') throw err;
      return refuse(state, server, req, res, 429, (err as Error).message, caller);
    }
  } else if (!session) {
    return refuse(state, server, req, res, 400, 'Bad Request: no Mcp-Session-Id; send initialize first', caller);
  }
  if (!pooled) headers['mcp-session-id'] = session!.id;

  const requests = messages.filter(isRequest).map(pooled ? toChildRequest : (r) => r);
  for (const m of messages as RpcMessage[]) {
    if (!isRequest(m)) {
      session!.deliver(m);
      audit(state, server, caller, {
        era: era.era,
        method: 'method' in m ? m.method : 'response',
        rpc_id: 'id' in m ? m.id : undefined,
        outcome: 'ok',
        session: session!.id,
      });
    }
  }
  if (requests.length === 0) {
    res.writeHead(202, headers).end();
    return;
  }

  const accept = String(req.headers.accept ?? '');
  const translate = pooled ? statelessAnswer(requests[0]!.method) : undefined;
  const exchange = new Exchange(res, {
    requests: requests.length,
    batch,
    acceptsStream: accept.includes('text/event-stream'),
    headers,
    translate,
    statusOf: pooled ? statelessStatus : undefined,
  });
  res.on('close', () => {
    if (exchange.open) session!.abandon(exchange);
  });
  const mayCall = (tool: string) => isToolAllowed(tool, auth.admission.tools, auth.admission.decision);
  if (pooled && requests[0]!.method === 'server/discover') {
    const id = requests[0]!.id;
    exchange.respond({ jsonrpc: '2.0', id, result: await discover(pooled, caller, mayCall) });
    return audit(state, server, caller, { era: era.era, method: 'server/discover', rpc_id: id, outcome: 'ok' });
  }
  const headerTrace = req.headers['traceparent'];
  for (const request of requests) {
    const metaTrace = (request.params?.['_meta'] as { traceparent?: unknown } | undefined)?.traceparent;
    const trace = nextTrace(parseTraceparent(metaTrace) ? metaTrace : headerTrace);
    if (request.method === 'tools/call') {
      const tool = request.params?.['name'];
      const fields = {
        era: era.era,
        args_digest: argumentsDigest(request.params?.['arguments']),
        ...traceFields(trace),
      };
      if (typeof tool !== 'string' || !mayCall(tool)) {
        const why = `tool "${String(tool).slice(0, 100)}" is not allowed for ${caller.user} on ${server.name}`;
        exchange.respond(errorResponse(request.id, ERRORS.DENIED, why));
        const name = typeof tool === 'string' ? tool.slice(0, 200) : undefined;
        audit(state, server, caller, {
          ...fields,
          event: 'denied',
          method: request.method,
          tool: name,
          rpc_id: request.id,
          outcome: 'denied',
          error: why,
          session: session!.id,
        });
        continue;
      }
      const refused = gateToolCall(state, server, auth, caller, request, session!.id, fields);
      if (refused) {
        exchange.respond(refused);
        continue;
      }
    }
    session!.forward(request, exchange, caller, request.method === 'tools/list' ? mayCall : undefined, trace);
  }
}

/** The audit fields of a W3C trace context; `traceparent` itself is what the child got. */
export function traceFields(trace: TraceContext): Partial<AuditEvent> {
  return { trace_id: trace.trace_id, span_id: trace.span_id, parent_span_id: trace.parent_span_id };
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (declared > max)
    return Promise.reject(new GatekitError('LIMIT_EXCEEDED', `body larger than ${max} bytes (max_body_bytes)`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(new GatekitError('LIMIT_EXCEEDED', `body larger than ${max} bytes (max_body_bytes)`));
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function audit(
  state: DaemonState,
  server: ServerConfig,
  caller: Caller | undefined,
  fields: Partial<AuditEvent>,
): void {
  state.audit({
    event: 'request',
    server: server.name,
    user: caller?.user,
    sub: caller?.sub,
    jti: caller?.jti,
    ...fields,
  } as AuditEvent);
}

function refuse(
  state: DaemonState,
  server: ServerConfig,
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  message: string,
  caller?: Caller,
  event: 'request' | 'denied' = status === 403 ? 'denied' : 'request',
): void {
  audit(state, server, caller, {
    event,
    method: req.method,
    outcome: event === 'denied' ? 'denied' : 'error',
    error: message,
  });
  rpcError(res, status, message);
}

function refuseAuth(
  state: DaemonState,
  server: ServerConfig,
  req: IncomingMessage,
  res: ServerResponse,
  refusal: Refusal,
): void {
  state.audit({
    event: refusal.status === 403 ? 'denied' : 'auth.failed',
    server: server.name,
    method: req.method,
    outcome: refusal.status === 403 ? 'denied' : 'error',
    error: refusal.description ?? 'no token',
  });
  rpcError(
    res,
    refusal.status,
    refusal.description ?? 'authentication required: send Authorization: Bearer <token> (gatekit broker token)',
    {
      'www-authenticate': challenge(refusal, metadataUrl(server)),
    },
  );
}
