import type { DaemonLimits, ServerConfig } from '../../config/index.js';
import { GatekitError } from '../../errors.js';
import type { ResponseSink } from '../exchange.js';
import { fromDaemon } from '../gate.js';
import type { ResultFilter } from '../pending.js';
import { toolListFilter } from '../tool-gate.js';
import type { SessionRegistry } from '../registry.js';
import type { Session } from '../session.js';
import {
  CHILD_SESSION_VERSION,
  META_SERVER_INFO,
  STATELESS_VERSION,
  TASKS_EXTENSION,
  type RpcMessage,
  type RpcRequest,
} from '../../mcp/index.js';
import type { Person } from '../../person.js';

const DAEMON_INFO = { name: 'gatekit-daemon', version: '1' };

/** A child the daemon initialized itself, kept for one person on one server. */
export interface PooledChild {
  readonly session: Session;
  /** The child's `initialize` result. */
  readonly initialized: Record<string, unknown>;
}

/** The daemon's own request to a child: its answer resolves a promise instead of going to a client. */
export function ask(session: Session, caller: Person, request: RpcRequest, results?: ResultFilter): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sink: ResponseSink = {
      open: true,
      interim: () => false,
      respond: (m: RpcMessage) => {
        if ('error' in m && m.error)
          reject(new GatekitError('DAEMON_UNREACHABLE', `${request.method}: ${m.error.message}`));
        else resolve('result' in m ? m.result : undefined);
      },
    };
    session.forward(fromDaemon(request), sink, caller, results);
  });
}

/**
 * 2026-07-28 requests are served by children pooled per (verified `sub`, server): two people never
 * share one. Each is a Session of era "stateless" in the registry, so max_children,
 * max_sessions_per_user, eviction and idle reaping apply to it exactly as to a session. The daemon
 * performs `initialize` once per child; a child that ended (evicted, idle, crashed) is replaced on the
 * next request.
 */
export class StatelessPool {
  readonly #children = new Map<string, Promise<PooledChild>>();
  readonly #registry: SessionRegistry;

  constructor(registry: SessionRegistry) {
    this.#registry = registry;
  }

  /**
   * The person's child for `server` and these client `capabilities` (era/mrtr.ts `childCapabilities`: what the
   * daemon declares to a session-era child, so that its offer matches the client's), started and initialized if
   * there is none. Throws LIMIT_EXCEEDED at a bound.
   */
  async acquire(
    server: ServerConfig,
    caller: Person,
    limits: DaemonLimits,
    capabilities: Record<string, unknown> = {},
  ): Promise<PooledChild> {
    // A native child reads each request's own capabilities: one pooled child serves all (child-era.ts).
    const key = JSON.stringify([
      caller.sub,
      server.name,
      this.#registry.verdicts.speaksNatively(server) ? {} : capabilities,
    ]);
    const known = this.#children.get(key);
    if (known) {
      const child = await known.catch(() => undefined);
      if (child && !child.session.ended) return child;
      if (this.#children.get(key) === known) this.#children.delete(key);
      return this.acquire(server, caller, limits, capabilities);
    }
    const owner: Person = { user: caller.user, sub: caller.sub, groups: caller.groups };
    const session = this.#registry.open(server, owner, limits, 'stateless');
    const started = this.#initialize(session, caller, capabilities);
    this.#children.set(key, started);
    started.catch(() => {
      if (this.#children.get(key) === started) this.#children.delete(key);
    });
    return started;
  }

  async #initialize(session: Session, caller: Person, capabilities: Record<string, unknown>): Promise<PooledChild> {
    const params = {
      protocolVersion: CHILD_SESSION_VERSION,
      capabilities,
      clientInfo: DAEMON_INFO,
    };
    try {
      const initialized = await ask(session, caller, {
        jsonrpc: '2.0',
        id: 'gatekit/initialize',
        method: 'initialize',
        params,
      });
      session.deliver(fromDaemon({ jsonrpc: '2.0', method: 'notifications/initialized' }));
      return { session, initialized: (initialized ?? {}) as Record<string, unknown> };
    } catch (err) {
      void session.end('initialize failed');
      throw err;
    }
  }
}

/** Pages of a child's tool list the daemon reads for itself at most. */
const MAX_TOOL_PAGES = 16;

/**
 * The child's tool list, read by the daemon itself before a 2026-07-28 `tools/call` when it has not been seen since
 * the child started or said it changed: session.ts hands every tools/list answer to lib/daemon/tool-headers.ts,
 * which then checks the call's `Mcp-Param-*` headers. A child that cannot list its tools is not asked again here.
 */
export async function learnToolList(child: Pick<PooledChild, 'session'>, caller: Person): Promise<void> {
  let cursor: unknown;
  for (let page = 0; page < MAX_TOOL_PAGES; page++) {
    const params = typeof cursor === 'string' ? { params: { cursor } } : {};
    const request = { jsonrpc: '2.0', id: 'gatekit/tools', method: 'tools/list', ...params } as const;
    const list = await ask(child.session, caller, request).catch(() => undefined);
    cursor = (list as { nextCursor?: unknown } | undefined)?.nextCursor;
    if (typeof cursor !== 'string') return;
  }
}

/**
 * `server/discover` answered from the child's own discover result when it speaks 2026-07-28, else from
 * its initialize result, and its tools list as the person may see it: with no tool allowed, the `tools`
 * capability is not offered; nor those in `unusable` (resource-gate.ts `unusableCapabilities`).
 */
export async function discover(
  child: PooledChild,
  caller: Person,
  mayCall: (tool: string) => boolean,
  unusable: readonly string[] = [],
): Promise<Record<string, unknown>> {
  // A native child's own discover result, else its initialize result (lib/daemon/child-era.ts).
  const own = child.session.child.discovered;
  const { capabilities, instructions } = (own ?? child.initialized) as {
    capabilities?: Record<string, unknown>;
    instructions?: unknown;
  };
  const serverInfo = own
    ? (own['_meta'] as Record<string, unknown> | undefined)?.[META_SERVER_INFO]
    : child.initialized['serverInfo'];
  const offered: Record<string, unknown> = {};
  for (const name of ['tools', 'prompts', 'resources', 'logging', 'completions', 'experimental']) {
    if (capabilities?.[name] !== undefined && !unusable.includes(name)) offered[name] = capabilities[name];
  }
  // Of the extensions, only the one the daemon binds to its person (lib/daemon/tasks.ts), when the child has it.
  const extensions = capabilities?.['extensions'] as Record<string, unknown> | undefined;
  if (extensions?.[TASKS_EXTENSION] !== undefined)
    offered['extensions'] = { [TASKS_EXTENSION]: extensions[TASKS_EXTENSION] };
  if (offered['tools'] !== undefined) {
    const list = await ask(
      child.session,
      caller,
      { jsonrpc: '2.0', id: 'gatekit/discover', method: 'tools/list' },
      toolListFilter(mayCall),
    );
    if (((list as { tools?: unknown[] } | undefined)?.tools ?? []).length === 0) delete offered['tools'];
  }
  return {
    supportedVersions: [STATELESS_VERSION],
    capabilities: offered,
    ...(typeof instructions === 'string' ? { instructions } : {}),
    ...(serverInfo !== undefined ? { _meta: { [META_SERVER_INFO]: serverInfo } } : {}),
    resultType: 'complete',
    ttlMs: 0,
    cacheScope: 'private',
  };
}
