import type { AuditEvent } from '../audit/index.js';
import type { DaemonLimits, ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import type { ChildIdentity } from './child.js';
import { Session } from './session.js';

/** All live sessions, with the bounds on how many a person and the whole daemon may hold. */
export class SessionRegistry {
  readonly #sessions = new Map<string, Session>();
  readonly #audit: (event: AuditEvent) => void;

  constructor(audit: (event: AuditEvent) => void) { this.#audit = audit }

  get size(): number { return this.#sessions.size }
  get(id: string): Session | undefined { return this.#sessions.get(id) }
  all(): Session[] { return [...this.#sessions.values()] }

  open(server: ServerConfig, owner: ChildIdentity, limits: DaemonLimits): Session {
    if (this.#sessions.size >= limits.max_children) {
      throw new GatekitError('LIMIT_EXCEEDED', `the daemon runs its maximum of ${limits.max_children} MCP server processes; try again later`);
    }
    let mine = 0;
    for (const s of this.#sessions.values()) if (s.owner.sub === owner.sub) mine++;
    if (mine >= limits.max_sessions_per_user) {
      throw new GatekitError('LIMIT_EXCEEDED', `${owner.user} already has ${mine} open sessions (max_sessions_per_user); close one (DELETE) or wait for it to idle out`);
    }
    const session = new Session(server, owner, this.#audit, (s) => this.#sessions.delete(s.id));
    this.#sessions.set(session.id, session);
    this.#audit({ event: 'session.start', server: server.name, session: session.id, user: owner.user, sub: owner.sub, pid: session.child.process.pid });
    return session;
  }

  /** Ends sessions idle past `idle_timeout`, and those whose child has said nothing for `first_response_timeout` while a request waits. */
  sweep(limits: DaemonLimits, now = Date.now()): void {
    for (const session of this.#sessions.values()) {
      const oldest = session.oldestPending;
      if (oldest !== undefined && performance.now() - oldest > limits.first_response_timeout * 1000
        && now - session.child.lastOutput > limits.first_response_timeout * 1000) {
        void session.end(`the MCP server did not answer within ${limits.first_response_timeout}s`);
      } else if (session.pendingCount === 0 && now - session.lastUsed > limits.idle_timeout * 1000) {
        void session.end('idle timeout');
      }
    }
  }

  async endAll(reason: string): Promise<void> {
    await Promise.all(this.all().map((s) => s.end(reason)));
  }
}
