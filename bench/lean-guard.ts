/**
 * The daemon's per-call security work, written straight into the lean proxy (bench/lean-proxy.ts) with the
 * product's own functions and nothing else of the daemon: the daemon's own door (`enterDoor` → `passToken`:
 * the Bearer token through the verified-token cache, its binding per request, the current policy), the tool
 * allow-list, a W3C trace context passed to the child, the arguments' digest, and one chained audit line per
 * answer. No steps, sessions, id rewriting, era or SSE. The daemon ÷ this proxy tells what the daemon's structure
 * costs beyond the security work (docs/architecture.md, "not slower").
 */
import {
  argumentsDigest,
  AuditLog,
  loadAuditKey,
  nextTrace,
  resultLine,
  type TraceContext,
} from '../lib/audit/index.js';
import { loadConfig, type ServerConfig } from '../lib/config/index.js';
import type { IncomingMessage } from 'node:http';
import { DoorMemory, enterDoor, type Admitted } from '../lib/daemon/door.js';
import { isToolAllowed } from '../lib/policy/index.js';
import { loadTrustedKeys, VerifiedTokenCache } from '../lib/token/index.js';

type Keys = Awaited<ReturnType<typeof loadTrustedKeys>>;

/** A forwarded call, for its audit line. */
export interface Call {
  readonly who: Admitted;
  readonly id: string | number;
  readonly method: string;
  readonly tool: string | undefined;
  readonly trace: TraceContext;
  readonly argsDigest: string | undefined;
  readonly started: number;
}

export class LeanGuard {
  readonly #server: ServerConfig;
  readonly #config: ReturnType<typeof loadConfig>;
  readonly #keys: Keys;
  readonly #cache = new VerifiedTokenCache();
  readonly #door = new DoorMemory();
  readonly #log: AuditLog;

  private constructor(config: ReturnType<typeof loadConfig>, keys: Keys, server: ServerConfig) {
    this.#config = config;
    this.#keys = keys;
    this.#server = server;
    this.#log = new AuditLog(`${config.daemon.audit_log}.lean`, {
      signer: loadAuditKey(config.daemon.audit_key),
      checkpoint: config.daemon.audit_checkpoint,
    });
  }

  static async open(configFile: string, serverName: string): Promise<LeanGuard> {
    const config = loadConfig({ config: configFile });
    return new LeanGuard(config, await loadTrustedKeys(config.daemon.trusted_keys), config.servers.get(serverName)!);
  }

  /** The request's holder through the daemon's own door (`enterDoor`); undefined: refuse (401/403). */
  async admit(req: IncomingMessage): Promise<Admitted | undefined> {
    const state = { config: this.#config, keys: this.#keys, cache: this.#cache, door: this.#door };
    try {
      return await enterDoor(req, state, this.#server);
    } catch {
      return undefined;
    }
  }

  /** The tool gate, a trace and the digest; the request line for the child (undefined: the tool is refused). */
  forward(who: Admitted, message: Record<string, unknown>): { line: string; call: Call } | undefined {
    const params = message['params'] as Record<string, unknown> | undefined;
    const tool = message['method'] === 'tools/call' ? String(params?.['name']) : undefined;
    if (tool !== undefined && !isToolAllowed(tool, who.tools, who.decision)) return undefined;
    const trace = nextTrace(undefined);
    const meta = { ...(params?.['_meta'] as object | undefined), traceparent: trace.traceparent };
    const call: Call = {
      who,
      id: message['id'] as string | number,
      method: String(message['method']),
      tool,
      trace,
      argsDigest: tool !== undefined ? argumentsDigest(params?.['arguments']) : undefined,
      started: performance.now(),
    };
    return { line: JSON.stringify({ ...message, params: { ...params, _meta: meta } }), call };
  }

  /** One chained audit line for an answered call. */
  answered(call: Call, error: string | undefined): void {
    const source = { ...call, caller: call.who.person, arguments: undefined };
    const duration = Math.round((performance.now() - call.started) * 100) / 100;
    this.#log.write(resultLine(this.#server.name, 'session', '-', source, error ? 'error' : 'ok', error, duration));
  }

  close(): void {
    this.#log.close();
  }
}
