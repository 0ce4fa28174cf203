import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Counter, Metric, Registry } from 'prom-client';
import type { AuditEvent } from '../audit/index.js';
import { isLoopbackHost, type Config, type Listen } from '../config/index.js';
import { bindListen } from '../http/index.js';
import { CLIENT_NOTIFICATIONS, CLIENT_REQUESTS } from '../mcp/index.js';
import { VerifiedTokenCache } from '../token/index.js';
import { RequestCounts, type Outcome } from './metrics-requests.js';
import type { SessionRegistry } from './registry.js';

/**
 * The only values the `method` label takes: the methods MCP defines for clients (lib/mcp; a vendor extension a client
 * names is `other`), `response` for a client's answer to a server request, the token endpoint's `token-exchange`,
 * and the HTTP verb of a line written before the JSON-RPC method was read, or without one (a GET stream).
 */
const METHODS: ReadonlySet<string> = new Set([
  ...CLIENT_REQUESTS,
  ...CLIENT_NOTIFICATIONS,
  'response',
  'token-exchange',
  'GET',
  'POST',
  'DELETE',
]);
type Inc = { inc(value?: number): void };
/** What the gauges read when scraped: the daemon's own state, never copied on the request path. */
export interface MetricsSources {
  readonly sessions: () => SessionRegistry;
  /** Open responses (POSTs being answered, GET streams); those of type text/event-stream are streams. */
  readonly responses: () => Iterable<ServerResponse>;
  /** Answers that stay open like a GET stream (`subscriptions/listen`, the daemon's `standing`). */
  readonly standing: WeakSet<ServerResponse>;
  readonly auditFailure: () => string | undefined;
  readonly auditWriteFailures: () => number;
}

/**
 * `[daemon] metrics_listen`: Prometheus metrics of one daemon on a private registry (two daemons in one process
 * never share one). Requests are counted from the audit events (`count`, one terminal line per request), gauges
 * are read when scraped. No label holds a person, a token, an argument or a name a client chose: `server` is a
 * configured server's name, `method` one of METHODS, else `other`.
 */
export class DaemonMetrics {
  readonly registry: Registry;
  readonly #servers: ReadonlySet<string>;
  readonly #requests = new RequestCounts();
  readonly #starts: Counter;
  readonly #crashes: Counter;
  readonly #rate: Counter;
  readonly #verified: Inc;
  readonly #failed: Inc;
  #server: Server | undefined;

  private constructor(prom: typeof import('prom-client'), servers: readonly string[], sources: MetricsSources) {
    const registry = (this.registry = new prom.Registry());
    this.#servers = new Set(servers);
    prom.collectDefaultMetrics({ register: registry });
    const registers = [registry];
    // Requests are counted in plain numbers on the hot path and printed by prom-client when scraped.
    for (const family of this.#requests.families()) registry.registerMetric(family as unknown as Metric);
    const perServer = (name: string, help: string) => {
      const counter = new prom.Counter({ name, help, labelNames: ['server'], registers });
      for (const server of servers) counter.labels(server).inc(0);
      return counter;
    };
    this.#starts = perServer('gatekit_child_starts_total', 'MCP server processes started');
    this.#crashes = perServer('gatekit_child_crashes_total', 'MCP server processes that exited on their own');
    this.#rate = perServer('gatekit_rate_limit_refusals_total', 'Tool calls refused by a rate rule');
    const verifications = new prom.Counter({
      name: 'gatekit_token_verifications_total',
      help: 'Tokens the door verified (signature and claims; a verified token is cached), by result',
      labelNames: ['result'],
      registers,
    });
    this.#verified = verifications.labels('ok');
    this.#failed = verifications.labels('failed');
    this.#verified.inc(0);
    this.#failed.inc(0);
    const gauge = (name: string, help: string, labelNames: string[], collect: (g: GaugeLike) => void) =>
      new prom.Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          collect(this as unknown as GaugeLike);
        },
      });
    gauge('gatekit_sessions', 'Open sessions (era "stateless": pooled 2026-07-28 children)', ['server', 'era'], (g) => {
      for (const s of sources.sessions().all()) if (!s.ended) g.inc({ server: s.server.name, era: s.era });
    });
    gauge('gatekit_children', 'Running MCP server processes', ['server'], (g) => {
      for (const s of sources.sessions().all()) if (s.child.alive) g.inc({ server: s.server.name });
    });
    gauge('gatekit_streams', 'Open event streams (GET streams, subscriptions/listen streams)', [], (g) => {
      let open = 0;
      for (const res of sources.responses()) if (isOpenStream(res, sources.standing)) open++;
      g.set(open);
    });
    gauge('gatekit_audit_fail_closed', '1 while the audit log cannot be written and requests are refused', [], (g) =>
      g.set(sources.auditFailure() === undefined ? 0 : 1),
    );
    new prom.Counter({
      name: 'gatekit_audit_write_failures_total',
      help: 'Audit log writes that failed, retries included',
      registers,
      collect() {
        this.reset();
        this.inc(sources.auditWriteFailures());
      },
    });
  }

  /** Loads prom-client (only now: a daemon without metrics_listen never pays for it). */
  static async create(servers: readonly string[], sources: MetricsSources): Promise<DaemonMetrics> {
    return new DaemonMetrics(await import('prom-client'), servers, sources);
  }

  /** One audit event: a request's terminal line, a child's start or crash. Everything else is not counted. */
  count(event: AuditEvent): void {
    switch (event.event) {
      case 'request':
        return this.#request(event, event.outcome === 'ok' ? 'ok' : 'error');
      case 'denied':
        if (typeof event['rule'] === 'string' && event['rule'].endsWith('.rate'))
          this.#rate.labels(this.#label(event.server)).inc();
        return this.#request(event, 'denied');
      case 'auth.failed':
        return this.#request(event, 'refused');
      case 'token.exchange':
        return this.#request(event, 'ok');
      case 'session.start':
        return this.#starts.labels(this.#label(event.server)).inc();
      case 'server.exit':
        return this.#crashes.labels(this.#label(event.server)).inc();
    }
  }

  /** The token cache the door uses, counting the verifications it makes (a cached token is not verified again). */
  tokenCache(): VerifiedTokenCache {
    const counted = { ok: this.#verified, failed: this.#failed };
    return new (class extends VerifiedTokenCache {
      override async verifySigned(...args: Parameters<VerifiedTokenCache['verifySigned']>) {
        if (this.cached(args[0], args[1].keys)) return super.verifySigned(...args);
        try {
          const claims = await super.verifySigned(...args);
          counted.ok.inc();
          return claims;
        } catch (err) {
          counted.failed.inc();
          throw err;
        }
      }
    })();
  }

  /** Serves GET /metrics on `at`: a Unix socket 0600 (0660 with socket_group), or plain HTTP on loopback. */
  async listen(config: Config, at: Listen): Promise<void> {
    const group = config.daemon.socket_group;
    const access = group ? { mode: 0o660, group } : { mode: 0o600 };
    this.#server = await bindListen(config, at, (req, res) => this.#answer(req, res), {
      name: 'metrics',
      key: 'daemon.metrics_listen',
      access,
      plain: true,
    });
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise((resolve) => server.close(resolve));
    server?.closeAllConnections();
    this.registry.clear();
  }

  #request(event: AuditEvent, outcome: Outcome): void {
    const method = event.method !== undefined && METHODS.has(event.method) ? event.method : 'other';
    const seconds = typeof event.duration_ms === 'number' ? event.duration_ms / 1000 : undefined;
    // A tallied refusal (refusal-tally.ts) is one request per line, and its window's end line brings `count` more.
    const requests = event.aggregate === 'end' ? (event.count ?? 0) : 1;
    this.#requests.count(this.#label(event.server), method, outcome, seconds, requests);
  }

  #label(server: string | undefined): string {
    return server !== undefined && this.#servers.has(server) ? server : 'other';
  }

  #answer(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    // A web page reaching 127.0.0.1 through DNS rebinding names its own host: refused.
    const host = (req.headers.host ?? 'localhost').replace(/:\d+$/, '');
    const refuse = (status: number, text: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(`${text}\n`);
    };
    if (!isLoopbackHost(host)) return refuse(403, 'forbidden: not a loopback Host');
    if (path !== '/metrics') return refuse(404, 'not found: GET /metrics');
    if (req.method !== 'GET') return refuse(405, 'method not allowed', { allow: 'GET' });
    this.registry.metrics().then(
      (text) =>
        res.writeHead(200, { 'content-type': this.registry.contentType, 'cache-control': 'no-store' }).end(text),
      () => refuse(500, 'internal error'),
    );
  }
}

interface GaugeLike {
  inc(labels: Record<string, string>): void;
  set(value: number): void;
}

/** A GET stream that is open, or a standing POST (`subscriptions/listen`): the streams a client holds open. */
function isOpenStream(res: ServerResponse, standing: WeakSet<ServerResponse>): boolean {
  if (res.writableEnded || !res.headersSent || res.statusCode !== 200) return false;
  return res.req.method === 'GET' || standing.has(res);
}
